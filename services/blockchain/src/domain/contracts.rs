//! Bindings to the committed contract artifacts (see `contracts/`).
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ProvenanceNFT,
    "contracts/artifacts/ProvenanceNFT.json"
);
alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    FairPay,
    "contracts/artifacts/FairPay.json"
);
alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    DevRupee,
    "contracts/artifacts/DevRupee.json"
);

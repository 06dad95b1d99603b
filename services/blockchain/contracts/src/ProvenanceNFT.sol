// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title Provenance certificates for handmade products.
/// @notice One token per product hash. The hash is computed off-chain by the
/// blockchain service from the product's canonical data and the sha256 of its
/// photos; anyone can recompute it and compare.
contract ProvenanceNFT is ERC721, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// What the minter supplies.
    struct MintRequest {
        string productId;
        bytes32 productHash;
        bytes32 artisanIdHash;
        string[] materials;
        string culturalOrigin;
        uint256 fairWageAmount;
        string currency;
        /// Where the token's metadata lives; empty: the base URI + token id.
        string metadataURI;
    }

    /// What the chain keeps for each token.
    struct Provenance {
        /// The platform's product id: with it anyone can fetch the product
        /// and recompute its hash.
        string productId;
        bytes32 productHash;
        bytes32 artisanIdHash;
        string[] materials;
        string culturalOrigin;
        /// The artisan's share of the price, in minor units of `currency`.
        uint256 fairWageAmount;
        /// ISO 4217 code.
        string currency;
        /// Block time of the mint.
        uint64 timestamp;
        string metadataURI;
    }

    mapping(uint256 tokenId => Provenance) private _records;
    /// The token certifying a product hash; 0 when none (token ids start at 1).
    mapping(bytes32 productHash => uint256 tokenId) public tokenOfProduct;
    uint256 public totalMinted;
    /// Prefix of default token URIs (the platform's metadata endpoint).
    string public baseURI;

    event ProvenanceMinted(
        uint256 indexed tokenId, bytes32 indexed productHash, address indexed to, bytes32 artisanIdHash
    );

    error AlreadyMinted(bytes32 productHash, uint256 tokenId);
    error EmptyProductHash();

    event BaseURIChanged(string baseURI);

    constructor(address admin, address minter, string memory baseURI_) ERC721("CraftChain Provenance", "CCPROV") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
        baseURI = baseURI_;
    }

    /// Moves default token URIs (a new domain); records minted with an
    /// explicit URI keep it.
    function setBaseURI(string calldata baseURI_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        baseURI = baseURI_;
        emit BaseURIChanged(baseURI_);
    }

    /// Mints the certificate of `req.productHash` to `to` (the artisan's
    /// wallet, or the platform's custody wallet until the artisan adds one).
    function mintProvenance(address to, MintRequest calldata req)
        external
        onlyRole(MINTER_ROLE)
        returns (uint256 tokenId)
    {
        if (req.productHash == bytes32(0)) revert EmptyProductHash();
        uint256 existing = tokenOfProduct[req.productHash];
        if (existing != 0) revert AlreadyMinted(req.productHash, existing);

        tokenId = ++totalMinted;
        tokenOfProduct[req.productHash] = tokenId;
        Provenance storage record = _records[tokenId];
        record.productId = req.productId;
        record.productHash = req.productHash;
        record.artisanIdHash = req.artisanIdHash;
        for (uint256 i = 0; i < req.materials.length; ++i) {
            record.materials.push(req.materials[i]);
        }
        record.culturalOrigin = req.culturalOrigin;
        record.fairWageAmount = req.fairWageAmount;
        record.currency = req.currency;
        record.timestamp = uint64(block.timestamp);
        record.metadataURI = req.metadataURI;

        // Plain _mint: the state is complete before any external call could run.
        _mint(to, tokenId);
        emit ProvenanceMinted(tokenId, req.productHash, to, req.artisanIdHash);
    }

    /// The record of an existing token; reverts for unknown ids.
    function provenance(uint256 tokenId) external view returns (Provenance memory) {
        _requireOwned(tokenId);
        return _records[tokenId];
    }

    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        string memory explicitURI = _records[tokenId].metadataURI;
        if (bytes(explicitURI).length > 0) return explicitURI;
        return string.concat(baseURI, Strings.toString(tokenId));
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}

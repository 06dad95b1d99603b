// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base} from "./Base.sol";
import {ProvenanceNFT} from "../src/ProvenanceNFT.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract ProvenanceNFTTest is Base {
    ProvenanceNFT internal nft;
    address internal constant ADMIN = address(0xAD);
    address internal constant ARTISAN = address(0xA11CE);
    address internal constant STRANGER = address(0xBAD);

    event ProvenanceMinted(
        uint256 indexed tokenId, bytes32 indexed productHash, address indexed to, bytes32 artisanIdHash
    );

    function setUp() public {
        // This test contract is the minter.
        nft = new ProvenanceNFT(ADMIN, address(this), "https://craftchain.example/blockchain/metadata/");
    }

    function request(bytes32 productHash) internal pure returns (ProvenanceNFT.MintRequest memory req) {
        string[] memory materials = new string[](2);
        materials[0] = "terracotta";
        materials[1] = unicode"लाख";
        req = ProvenanceNFT.MintRequest({
            productId: "prod-1",
            productHash: productHash,
            artisanIdHash: keccak256("artisan-1"),
            materials: materials,
            culturalOrigin: "Bankura, West Bengal",
            fairWageAmount: 225_000,
            currency: "INR",
            metadataURI: ""
        });
    }

    function test_MintKeepsEveryField() public {
        vm.warp(1_790_000_000);
        bytes32 hash = keccak256("product-1");
        vm.expectEmit(true, true, true, true);
        emit ProvenanceMinted(1, hash, ARTISAN, keccak256("artisan-1"));
        uint256 id = nft.mintProvenance(ARTISAN, request(hash));

        assertEq(id, 1, "first token id");
        assertEq(nft.ownerOf(id), ARTISAN, "owner");
        assertEq(nft.tokenOfProduct(hash), id, "token of product");
        assertEq(nft.totalMinted(), 1, "total");
        ProvenanceNFT.Provenance memory p = nft.provenance(id);
        assertEq(p.productId, "prod-1", "product id");
        assertEq(p.productHash, hash, "product hash");
        assertEq(p.artisanIdHash, keccak256("artisan-1"), "artisan id hash");
        assertEq(p.materials.length, 2, "materials");
        assertEq(p.materials[1], unicode"लाख", "material");
        assertEq(p.culturalOrigin, "Bankura, West Bengal", "origin");
        assertEq(p.fairWageAmount, 225_000, "fair wage");
        assertEq(p.currency, "INR", "currency");
        assertEq(p.timestamp, 1_790_000_000, "timestamp");
        assertEq(nft.tokenURI(id), "https://craftchain.example/blockchain/metadata/1", "default token uri");
    }

    function test_ExplicitUriWinsAndBaseUriMoves() public {
        ProvenanceNFT.MintRequest memory req = request(keccak256("product-1"));
        req.metadataURI = "ipfs://bafy";
        uint256 explicitId = nft.mintProvenance(ARTISAN, req);
        uint256 defaultId = nft.mintProvenance(ARTISAN, request(keccak256("product-2")));
        vm.prank(ADMIN);
        nft.setBaseURI("https://new.example/m/");
        assertEq(nft.tokenURI(explicitId), "ipfs://bafy", "explicit uri kept");
        assertEq(nft.tokenURI(defaultId), "https://new.example/m/2", "default uri follows the base");
        vm.prank(STRANGER);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, STRANGER, bytes32(0))
        );
        nft.setBaseURI("https://evil.example/");
    }

    function test_SameProductTwiceReverts() public {
        bytes32 hash = keccak256("product-1");
        nft.mintProvenance(ARTISAN, request(hash));
        vm.expectRevert(abi.encodeWithSelector(ProvenanceNFT.AlreadyMinted.selector, hash, 1));
        nft.mintProvenance(STRANGER, request(hash));
    }

    function test_OnlyTheMinterMints() public {
        bytes32 role = nft.MINTER_ROLE();
        vm.prank(STRANGER);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, STRANGER, role)
        );
        nft.mintProvenance(STRANGER, request(keccak256("product-1")));
    }

    function test_EmptyHashReverts() public {
        vm.expectRevert(abi.encodeWithSelector(ProvenanceNFT.EmptyProductHash.selector));
        nft.mintProvenance(ARTISAN, request(bytes32(0)));
    }

    function test_UnknownTokenReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.provenance(7);
    }

    function test_SupportsErc721AndAccessControl() public view {
        assertTrue(nft.supportsInterface(0x80ac58cd), "ERC-721");
        assertTrue(nft.supportsInterface(0x5b5e139f), "ERC-721 metadata");
        assertTrue(nft.supportsInterface(type(IAccessControl).interfaceId), "AccessControl");
    }

    function testFuzz_DistinctProductsGetDistinctTokens(bytes32 a, bytes32 b) public {
        vm.assume(a != bytes32(0) && b != bytes32(0) && a != b);
        uint256 first = nft.mintProvenance(ARTISAN, request(a));
        uint256 second = nft.mintProvenance(ARTISAN, request(b));
        assertTrue(first != second, "distinct ids");
        assertEq(nft.tokenOfProduct(a), first, "a");
        assertEq(nft.tokenOfProduct(b), second, "b");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base} from "./Base.sol";
import {FairPay} from "../src/FairPay.sol";
import {DevRupee} from "../src/DevRupee.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract FairPayTest is Base {
    FairPay internal pay;
    DevRupee internal rupee;
    address internal constant ADMIN = address(0xAD);
    address internal constant ARTISAN = address(0xA11CE);
    address internal constant COOP = address(0xC0047);
    address internal constant PLATFORM = address(0x91A7);
    address internal constant STRANGER = address(0xBAD);
    bytes32 internal constant ORDER = keccak256("order-1");

    event Payout(bytes32 indexed orderId, address indexed recipient, address indexed token, uint256 amount);

    function setUp() public {
        // This test contract is the payer.
        pay = new FairPay(ADMIN, address(this));
        rupee = new DevRupee(address(this), 1e30);
        rupee.approve(address(pay), type(uint256).max);
    }

    function split(uint16 artisanBps, uint16 coopBps, uint16 platformBps) internal pure returns (FairPay.Split memory) {
        return FairPay.Split(ARTISAN, COOP, PLATFORM, artisanBps, coopBps, platformBps);
    }

    /// The parts always add up to the amount; cooperative and platform get
    /// exactly their rounded-down share; the artisan never gets less than
    /// theirs and at most two units of dust more.
    function testFuzz_SplitArithmetic(uint256 amount, uint16 coopBps, uint16 platformBps) public view {
        coopBps = uint16(bound(coopBps, 0, 10_000));
        platformBps = uint16(bound(platformBps, 0, 10_000 - coopBps));
        uint16 artisanBps = 10_000 - coopBps - platformBps;
        (uint256 a, uint256 c, uint256 p) = pay.computeSplit(amount, split(artisanBps, coopBps, platformBps));

        assertEq(a + c + p, amount, "parts sum to the amount");
        // amount * bps / 10000 without overflow: (q * 10000 + r) * bps / 10000 = q * bps + r * bps / 10000
        uint256 q = amount / 10_000;
        uint256 r = amount % 10_000;
        assertEq(c, q * coopBps + (r * coopBps) / 10_000, "cooperative share");
        assertEq(p, q * platformBps + (r * platformBps) / 10_000, "platform share");
        uint256 artisanFloor = q * artisanBps + (r * artisanBps) / 10_000;
        assertTrue(a >= artisanFloor && a - artisanFloor <= 2, "artisan gets the dust, at most 2 units");
    }

    function testFuzz_SplitMustCoverExactly10000(uint16 a, uint16 c, uint16 p) public {
        vm.assume(uint256(a) + c + p != 10_000);
        vm.expectRevert(abi.encodeWithSelector(FairPay.InvalidSplit.selector));
        pay.computeSplit(1000, split(a, c, p));
    }

    function testFuzz_PayNativeMovesExactlyTheParts(uint96 amount, uint16 coopBps, uint16 platformBps) public {
        vm.assume(amount > 0);
        coopBps = uint16(bound(coopBps, 0, 10_000));
        platformBps = uint16(bound(platformBps, 0, 10_000 - coopBps));
        FairPay.Split memory s = split(10_000 - coopBps - platformBps, coopBps, platformBps);
        (uint256 a, uint256 c, uint256 p) = pay.computeSplit(amount, s);
        vm.deal(address(this), amount);
        uint256 before = ARTISAN.balance + COOP.balance + PLATFORM.balance;

        pay.payNative{value: amount}(ORDER, s);

        assertEq(ARTISAN.balance, a, "artisan");
        assertEq(COOP.balance, c, "cooperative");
        assertEq(PLATFORM.balance, p, "platform");
        assertEq(ARTISAN.balance + COOP.balance + PLATFORM.balance - before, amount, "all of it");
        assertEq(address(pay).balance, 0, "nothing stays in the contract");
        assertTrue(pay.paid(ORDER), "marked paid");
    }

    function test_PayTokenSplitsByBasisPoints() public {
        vm.expectEmit(true, true, true, true);
        emit Payout(ORDER, ARTISAN, address(rupee), 9_001);
        pay.payToken(ORDER, IERC20(address(rupee)), 10_001, split(9_000, 500, 500));
        assertEq(rupee.balanceOf(ARTISAN), 9_001, "artisan gets 90% and the dust");
        assertEq(rupee.balanceOf(COOP), 500, "cooperative 5%");
        assertEq(rupee.balanceOf(PLATFORM), 500, "platform 5%");
    }

    function test_AnOrderIsPaidOnceNativeOrToken() public {
        vm.deal(address(this), 10 ether);
        pay.payNative{value: 1 ether}(ORDER, split(9_000, 500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadyPaid.selector, ORDER));
        pay.payNative{value: 1 ether}(ORDER, split(9_000, 500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadyPaid.selector, ORDER));
        pay.payToken(ORDER, IERC20(address(rupee)), 100, split(9_000, 500, 500));
        assertEq(ARTISAN.balance, 0.9 ether, "paid once");
    }

    function test_OnlyThePayerPays() public {
        bytes32 role = pay.PAYER_ROLE();
        vm.deal(STRANGER, 1 ether);
        vm.prank(STRANGER);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, STRANGER, role)
        );
        pay.payNative{value: 1 ether}(ORDER, split(9_000, 500, 500));
    }

    function test_ZeroAmountAndZeroAddressRevert() public {
        vm.expectRevert(abi.encodeWithSelector(FairPay.ZeroAmount.selector));
        pay.payNative{value: 0}(ORDER, split(9_000, 500, 500));
        FairPay.Split memory s = split(9_000, 500, 500);
        s.cooperative = address(0);
        vm.expectRevert(abi.encodeWithSelector(FairPay.ZeroAddress.selector));
        pay.payToken(ORDER, IERC20(address(rupee)), 100, s);
        assertTrue(!pay.paid(ORDER), "a reverted payment marks nothing");
    }
}

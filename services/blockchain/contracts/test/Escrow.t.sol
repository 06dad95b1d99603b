// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base} from "./Base.sol";
import {FairPay} from "../src/FairPay.sol";
import {DevRupee} from "../src/DevRupee.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// The buyer's half: deposits in escrow, released as the split or refunded,
/// each exactly once, never more than was deposited.
contract EscrowTest is Base {
    FairPay internal pay;
    DevRupee internal rupee;
    address internal constant ADMIN = address(0xAD);
    address internal constant BUYER = address(0xB0B);
    address internal constant ARTISAN = address(0xA11CE);
    address internal constant COOP = address(0xC0047);
    address internal constant PLATFORM = address(0x91A7);
    address internal constant STRANGER = address(0xBAD);
    bytes32 internal constant ORDER = keccak256("order-1");
    uint256 internal constant FUNDS = 1e30;

    function setUp() public {
        // This test contract is the payer (the platform's service).
        pay = new FairPay(ADMIN, address(this));
        rupee = new DevRupee(BUYER, FUNDS);
        vm.prank(BUYER);
        rupee.approve(address(pay), type(uint256).max);
    }

    function split(uint16 coopBps, uint16 platformBps) internal pure returns (FairPay.Split memory) {
        return FairPay.Split(ARTISAN, COOP, PLATFORM, 10_000 - coopBps - platformBps, coopBps, platformBps);
    }

    function deposit(bytes32 order, uint256 amount) internal {
        vm.prank(BUYER);
        pay.deposit(order, IERC20(address(rupee)), amount);
    }

    function held() internal view returns (uint256) {
        return rupee.balanceOf(address(pay));
    }

    /// Whatever the amount and the split, release pays out exactly the
    /// deposit, leaves nothing behind, and marks the order paid.
    function testFuzz_ReleasePaysExactlyTheDeposit(uint256 amount, uint16 coopBps, uint16 platformBps) public {
        amount = bound(amount, 1, FUNDS);
        coopBps = uint16(bound(coopBps, 0, 10_000));
        platformBps = uint16(bound(platformBps, 0, 10_000 - coopBps));
        deposit(ORDER, amount);
        assertEq(held(), amount, "the contract holds the deposit");

        pay.release(ORDER, split(coopBps, platformBps));

        uint256 paidOut = rupee.balanceOf(ARTISAN) + rupee.balanceOf(COOP) + rupee.balanceOf(PLATFORM);
        assertEq(paidOut, amount, "payouts sum to the deposit");
        (uint256 a, uint256 c, uint256 p) = pay.computeSplit(amount, split(coopBps, platformBps));
        assertEq(rupee.balanceOf(ARTISAN), a, "artisan");
        assertEq(rupee.balanceOf(COOP), c, "cooperative");
        assertEq(rupee.balanceOf(PLATFORM), p, "platform");
        assertEq(held(), 0, "nothing stays in escrow");
        assertTrue(pay.paid(ORDER), "marked paid");
    }

    /// Two orders in escrow at once: releasing one never touches the other's money.
    function testFuzz_DepositsAreKeptApart(uint256 first, uint256 second) public {
        first = bound(first, 1, FUNDS / 2);
        second = bound(second, 1, FUNDS / 2);
        bytes32 other = keccak256("order-2");
        deposit(ORDER, first);
        deposit(other, second);
        pay.release(ORDER, split(500, 500));
        assertEq(held(), second, "the other deposit is untouched");
        pay.refund(other);
        assertEq(held(), 0, "and refunded whole");
        assertEq(rupee.balanceOf(BUYER), FUNDS - first, "the buyer got the refunded order back");
    }

    function testFuzz_RefundGivesTheDepositorEverythingBack(uint256 amount) public {
        amount = bound(amount, 1, FUNDS);
        deposit(ORDER, amount);
        pay.refund(ORDER);
        assertEq(rupee.balanceOf(BUYER), FUNDS, "all of it back");
        assertEq(held(), 0, "nothing left");
        assertTrue(!pay.paid(ORDER), "a refunded order is not paid");
    }

    function test_ReleaseAndRefundHappenAtMostOnce() public {
        deposit(ORDER, 10_000);
        pay.release(ORDER, split(500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadySettled.selector, ORDER));
        pay.release(ORDER, split(500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadySettled.selector, ORDER));
        pay.refund(ORDER);

        bytes32 other = keccak256("order-2");
        deposit(other, 10_000);
        pay.refund(other);
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadySettled.selector, other));
        pay.refund(other);
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadySettled.selector, other));
        pay.release(other, split(500, 500));
    }

    function test_OneDepositPerOrderAndNoneForAPaidOne() public {
        deposit(ORDER, 10_000);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadyDeposited.selector, ORDER));
        pay.deposit(ORDER, IERC20(address(rupee)), 1);

        bytes32 paidOrder = keccak256("paid-off-chain");
        rupee.approve(address(pay), type(uint256).max);
        vm.prank(BUYER);
        rupee.transfer(address(this), 100);
        pay.payToken(paidOrder, IERC20(address(rupee)), 100, split(500, 500));
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadyPaid.selector, paidOrder));
        pay.deposit(paidOrder, IERC20(address(rupee)), 100);
    }

    /// An order paid another way is never paid from its deposit too: the
    /// deposit can only go back to its depositor.
    function test_ADepositOfAnOrderPaidAnotherWayCanOnlyBeRefunded() public {
        deposit(ORDER, 10_000);
        rupee.approve(address(pay), type(uint256).max);
        vm.prank(BUYER);
        rupee.transfer(address(this), 10_000);
        pay.payToken(ORDER, IERC20(address(rupee)), 10_000, split(500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.AlreadyPaid.selector, ORDER));
        pay.release(ORDER, split(500, 500));
        pay.refund(ORDER);
        assertEq(rupee.balanceOf(BUYER), FUNDS - 10_000, "the deposit back; the card money paid out");
        assertEq(held(), 0, "nothing left in escrow");
    }

    function test_NothingToReleaseOrRefundWithoutADeposit() public {
        vm.expectRevert(abi.encodeWithSelector(FairPay.NoDeposit.selector, ORDER));
        pay.release(ORDER, split(500, 500));
        vm.expectRevert(abi.encodeWithSelector(FairPay.NoDeposit.selector, ORDER));
        pay.refund(ORDER);
    }

    function test_OnlyThePayerReleasesOrRefunds() public {
        deposit(ORDER, 10_000);
        bytes32 role = pay.PAYER_ROLE();
        bytes memory denied =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, BUYER, role);
        vm.prank(BUYER);
        vm.expectRevert(denied);
        pay.refund(ORDER);
        vm.prank(BUYER);
        vm.expectRevert(denied);
        pay.release(ORDER, split(500, 500));
        assertEq(held(), 10_000, "still in escrow");
    }

    function test_ZeroDepositsAndZeroTokensAreRefused() public {
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(FairPay.ZeroAmount.selector));
        pay.deposit(ORDER, IERC20(address(rupee)), 0);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(FairPay.ZeroAddress.selector));
        pay.deposit(ORDER, IERC20(address(0)), 1);
        vm.prank(STRANGER);
        vm.expectRevert();
        pay.deposit(ORDER, IERC20(address(rupee)), 1);
    }
}

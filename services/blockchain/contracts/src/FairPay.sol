// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Fair payment splits for orders, and escrow of what buyers pay.
/// @notice Pays an order's amount to the artisan, the cooperative and the
/// platform in one transaction, by basis points, at most once per order id.
/// Rounding dust goes to the artisan.
///
/// Escrow: a buyer deposits an order's amount of a token against the
/// order's id; on completion the payer releases exactly that deposit as the
/// split, on cancellation (or when the order was paid another way) refunds
/// it to the depositor. Each deposit is settled (released or refunded) at
/// most once, and an order is paid at most once, from its deposit or not.
contract FairPay is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant PAYER_ROLE = keccak256("PAYER_ROLE");
    uint256 public constant BPS = 10_000;

    struct Split {
        address artisan;
        address cooperative;
        address platform;
        uint16 artisanBps;
        uint16 cooperativeBps;
        uint16 platformBps;
    }

    /// Order ids (keccak256 of the platform's order id) already paid.
    mapping(bytes32 orderId => bool) public paid;

    /// What a buyer put in escrow for an order.
    struct Deposit {
        address depositor;
        IERC20 token;
        uint256 amount;
        bool settled;
    }

    /// Deposits by order id; `amount` 0 means none.
    mapping(bytes32 orderId => Deposit) public deposits;

    /// One per payment. `token` is address(0) for the native coin.
    event PaymentExecuted(
        bytes32 indexed orderId,
        address indexed token,
        address indexed payer,
        uint256 amount,
        uint256 artisanAmount,
        uint256 cooperativeAmount,
        uint256 platformAmount
    );
    /// One per recipient of a payment, so a wallet's history is one log filter.
    event Payout(bytes32 indexed orderId, address indexed recipient, address indexed token, uint256 amount);

    /// A buyer's deposit for an order, held by this contract.
    event Deposited(bytes32 indexed orderId, address indexed depositor, address indexed token, uint256 amount);
    /// A deposit given back to its depositor.
    event Refunded(bytes32 indexed orderId, address indexed depositor, address indexed token, uint256 amount);

    error AlreadyPaid(bytes32 orderId);
    error AlreadyDeposited(bytes32 orderId);
    error NoDeposit(bytes32 orderId);
    error AlreadySettled(bytes32 orderId);
    error InvalidSplit();
    error ZeroAmount();
    error ZeroAddress();

    constructor(address admin, address payer) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAYER_ROLE, payer);
    }

    /// The three parts of `amount`: cooperative and platform get their
    /// basis points rounded down, the artisan gets the rest.
    function computeSplit(uint256 amount, Split memory split)
        public
        pure
        returns (uint256 artisanAmount, uint256 cooperativeAmount, uint256 platformAmount)
    {
        if (uint256(split.artisanBps) + split.cooperativeBps + split.platformBps != BPS) revert InvalidSplit();
        cooperativeAmount = Math.mulDiv(amount, split.cooperativeBps, BPS);
        platformAmount = Math.mulDiv(amount, split.platformBps, BPS);
        artisanAmount = amount - cooperativeAmount - platformAmount;
    }

    /// Splits the attached native coin.
    function payNative(bytes32 orderId, Split calldata split) external payable onlyRole(PAYER_ROLE) nonReentrant {
        (uint256 a, uint256 c, uint256 p) = _begin(orderId, msg.value, split);
        emit PaymentExecuted(orderId, address(0), msg.sender, msg.value, a, c, p);
        _payoutNative(orderId, split.artisan, a);
        _payoutNative(orderId, split.cooperative, c);
        _payoutNative(orderId, split.platform, p);
    }

    /// Splits `amount` of `token`, pulled from the payer (who approved this
    /// contract): for orders paid off chain (the platform collected it).
    function payToken(bytes32 orderId, IERC20 token, uint256 amount, Split calldata split)
        external
        onlyRole(PAYER_ROLE)
        nonReentrant
    {
        if (address(token) == address(0)) revert ZeroAddress();
        (uint256 a, uint256 c, uint256 p) = _begin(orderId, amount, split);
        emit PaymentExecuted(orderId, address(token), msg.sender, amount, a, c, p);
        _payoutToken(orderId, token, split.artisan, a);
        _payoutToken(orderId, token, split.cooperative, c);
        _payoutToken(orderId, token, split.platform, p);
    }

    /// Puts `amount` of `token` (approved to this contract) in escrow for
    /// `orderId`, from the caller. One deposit per order, never for a paid one.
    function deposit(bytes32 orderId, IERC20 token, uint256 amount) external nonReentrant {
        if (address(token) == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (paid[orderId]) revert AlreadyPaid(orderId);
        if (deposits[orderId].amount != 0) revert AlreadyDeposited(orderId);
        deposits[orderId] = Deposit(msg.sender, token, amount, false);
        emit Deposited(orderId, msg.sender, address(token), amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// Pays `orderId`'s deposit out as `split`: exactly the deposit, once.
    function release(bytes32 orderId, Split calldata split) external onlyRole(PAYER_ROLE) nonReentrant {
        Deposit storage d = _unsettled(orderId);
        IERC20 token = d.token;
        (uint256 a, uint256 c, uint256 p) = _begin(orderId, d.amount, split);
        d.settled = true;
        emit PaymentExecuted(orderId, address(token), address(this), d.amount, a, c, p);
        _release(orderId, token, split.artisan, a);
        _release(orderId, token, split.cooperative, c);
        _release(orderId, token, split.platform, p);
    }

    /// Gives `orderId`'s deposit back to its depositor, once.
    function refund(bytes32 orderId) external onlyRole(PAYER_ROLE) nonReentrant {
        Deposit storage d = _unsettled(orderId);
        d.settled = true;
        emit Refunded(orderId, d.depositor, address(d.token), d.amount);
        d.token.safeTransfer(d.depositor, d.amount);
    }

    function _unsettled(bytes32 orderId) private view returns (Deposit storage d) {
        d = deposits[orderId];
        if (d.amount == 0) revert NoDeposit(orderId);
        if (d.settled) revert AlreadySettled(orderId);
    }

    function _release(bytes32 orderId, IERC20 token, address to, uint256 amount) private {
        if (amount == 0) return;
        emit Payout(orderId, to, address(token), amount);
        token.safeTransfer(to, amount);
    }

    function _begin(bytes32 orderId, uint256 amount, Split calldata split)
        private
        returns (uint256 a, uint256 c, uint256 p)
    {
        if (paid[orderId]) revert AlreadyPaid(orderId);
        if (amount == 0) revert ZeroAmount();
        if (split.artisan == address(0) || split.cooperative == address(0) || split.platform == address(0)) {
            revert ZeroAddress();
        }
        paid[orderId] = true;
        (a, c, p) = computeSplit(amount, split);
    }

    function _payoutNative(bytes32 orderId, address to, uint256 amount) private {
        if (amount == 0) return;
        emit Payout(orderId, to, address(0), amount);
        Address.sendValue(payable(to), amount);
    }

    function _payoutToken(bytes32 orderId, IERC20 token, address to, uint256 amount) private {
        if (amount == 0) return;
        emit Payout(orderId, to, address(token), amount);
        token.safeTransferFrom(msg.sender, to, amount);
    }
}

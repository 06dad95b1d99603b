// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A rupee-denominated test token for local chains only.
/// @notice Two decimals, so one unit is one paisa and an order's price in
/// minor units is its amount in tokens. Never deployed outside a dev chain:
/// production pays in a real stablecoin configured by address.
contract DevRupee is ERC20 {
    constructor(address holder, uint256 supply) ERC20("CraftChain Dev Rupee", "dINR") {
        _mint(holder, supply);
    }

    function decimals() public pure override returns (uint8) {
        return 2;
    }
}

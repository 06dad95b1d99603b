//! A crash between signing and recording: the service's own binary is
//! killed (aborted at a chosen point) and started again over the same data
//! directory; the payment is reconciled from what was stored, never paid twice.

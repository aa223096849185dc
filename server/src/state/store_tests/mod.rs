//! Tests every state implementation runs: each takes the stores it needs
//! (two handles on one state stand for two vigil instances) and asserts the
//! behaviour the traits promise, so SQLite and PostgreSQL are held to the
//! same semantics by the same code.

pub mod leases;

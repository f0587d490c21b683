//! Integration tests of gradwell-optim (one binary, one module per area).

mod clipping;
mod harness;
mod optimizers;
mod registry;
mod schedules;
mod state;

//! Integration tests of gradwell-tensor (one binary, modules by topic).

mod broadcast;
mod kernel;
mod matmul;
mod packed;

//! Integration tests of gradwell-tensor (one binary, modules by topic).

mod broadcast;
mod matmul;
mod packed;

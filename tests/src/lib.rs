//! End-to-end test crate: the tests live in tests/tests/ and run the real `rl4seg` binary.

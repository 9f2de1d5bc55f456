//! Intentionally empty: the suites live in tests/.

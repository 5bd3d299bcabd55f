//! Generated artifacts (work in progress).

//! Vendor simulators (being written)

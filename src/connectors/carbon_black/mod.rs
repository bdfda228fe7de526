//! Carbon Black Cloud (being written)

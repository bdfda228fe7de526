//! Admin (to come)

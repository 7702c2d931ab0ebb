//! The generator's accepted fixture outputs, compiled: if a snapshot is accepted that does not
//! build, this crate fails to build, and so does the workspace.

pub mod coverage {
    #[allow(clippy::all, unused_imports, unused_qualifications, dead_code)]
    #[rustfmt::skip]
    pub mod sdk {
        include!(concat!(env!("OUT_DIR"), "/coverage_sdk.rs"));
    }
    #[allow(clippy::all, unused_imports, dead_code)]
    #[rustfmt::skip]
    pub mod tools {
        include!(concat!(env!("OUT_DIR"), "/coverage_tools.rs"));
    }
}

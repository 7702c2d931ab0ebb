//! The generator's accepted fixture outputs, compiled: if a snapshot is accepted that does not
//! build, this crate fails to build, and so does the workspace.

/// The outputs for `fixtures/coverage`, the spec and manifest written to cover what the generator emits.
pub mod coverage {
    /// The generated SDK of the fixture spec.
    #[allow(clippy::all, unused_imports, unused_qualifications, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod sdk {
        include!(concat!(env!("OUT_DIR"), "/coverage_sdk.rs"));
    }
    /// The generated MCP tools of the fixture manifest.
    #[allow(clippy::all, unused_imports, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod tools {
        include!(concat!(env!("OUT_DIR"), "/coverage_tools.rs"));
    }
}

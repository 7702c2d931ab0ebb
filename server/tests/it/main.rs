//! The server's end-to-end tests, in one binary (one link, one process, as ripgrep and
//! dropshot do): a real server on loopback, the real binary over stdio, real MCP clients, a
//! real browser.

mod client_profiles;
mod common;
mod connect;
mod external_clients;
mod first_hour;
mod hardening;
mod http_tools;
mod oauth_builtin;
mod oauth_external;
mod safe_sends;
mod scale_out;
mod settings;
mod shutdown;
mod stdio_tools;
mod tool_selection;

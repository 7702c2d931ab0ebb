//! The seven tools of Clerk Chat's hosted MCP server are a contract: exactly these names,
//! parameters, JSON types and required flags, as `tools/list` shows them.

use clerk_chat::mcp::{Host, HostError, ToolServer};
use clerk_chat::tools::{TOOLS, tool_router};
use rmcp::RoleServer;
use rmcp::model::Implementation;
use rmcp::service::RequestContext;
use serde_json::Value;

struct NoUpstream;

impl Host for NoUpstream {
    type Client = clerk_chat::Client;
    fn upstream_client(&self, _request: &RequestContext<RoleServer>) -> Result<clerk_chat::Client, HostError> {
        Err(HostError::Unavailable("not used by this test".to_owned()))
    }
}

/// (parameter, JSON type, required)
type Parameter = (&'static str, &'static str, bool);

/// (tool, parameters), from the hosted server's documentation.
const SEED: &[(&str, &[Parameter])] = &[
    (
        "send_message",
        &[
            ("sender", "string", true),
            ("recipients", "array", true),
            ("body", "string", true),
            ("media_urls", "array", false),
            ("sent_by_name", "string", false),
        ],
    ),
    (
        "get_messages",
        &[
            ("inbox_ids", "array", false),
            ("start", "string", false),
            ("end", "string", false),
            ("limit", "integer", false),
            ("page", "integer", false),
        ],
    ),
    (
        "create_contact",
        &[
            ("name", "string", false),
            ("email", "string", false),
            ("phone", "string", false),
            ("public", "boolean", false),
            ("data", "object", false),
        ],
    ),
    (
        "update_contact",
        &[
            ("contact_id", "string", true),
            ("name", "string", false),
            ("email", "string", false),
            ("phone", "string", false),
            ("public", "boolean", false),
            ("data", "object", false),
        ],
    ),
    ("delete_contact", &[("contact_id", "string", true)]),
    ("create_contacts_batch", &[("contacts", "array", true)]),
    (
        "create_campaign",
        &[
            ("sender", "string", true),
            ("list_name", "string", true),
            ("body", "string", true),
            ("media_urls", "array", false),
            ("name", "string", false),
            ("timestamp", "string", false),
            ("provider", "string", false),
        ],
    ),
];

/// The control arguments the safety of sends adds, optional, after the seed's parameters.
const SAFETY: &[(&str, &[&str])] = &[
    ("send_message", &["idempotency_key", "allow_repeat"]),
    ("create_contacts_batch", &["idempotency_key"]),
    ("create_campaign", &["idempotency_key", "allow_repeat"]),
];

#[test]
fn the_seed_tools_have_exactly_the_seed_parameters() {
    let server = ToolServer::new(NoUpstream, tool_router(), &TOOLS, Implementation::new("test", "0"), None);
    for (tool_name, parameters) in SEED {
        let tool = server.tools().iter().find(|tool| tool.name == *tool_name).unwrap_or_else(|| panic!("tool {tool_name} is missing"));
        let schema = Value::Object((*tool.input_schema).clone());
        let properties = schema["properties"].as_object().unwrap();
        let listed: Vec<&str> = properties.keys().map(String::as_str).collect();
        let expected: Vec<&str> = parameters.iter().map(|(name, _, _)| *name).collect();
        // The safety of sends may add its optional control arguments after the seed's own.
        let (seed_part, added) = listed.split_at(expected.len().min(listed.len()));
        assert_eq!(seed_part, expected, "{tool_name}: parameter names or order");
        let safety = SAFETY.iter().find(|(name, _)| name == tool_name).map_or(&[][..], |(_, added)| *added);
        assert_eq!(added, safety, "{tool_name}: arguments beyond the seed's");
        assert!(
            added.iter().all(|name| !schema["required"].as_array().into_iter().flatten().any(|required| required == name)),
            "{tool_name}: added arguments are optional"
        );
        let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, kind, is_required) in *parameters {
            assert_eq!(properties[*name]["type"], *kind, "{tool_name}.{name}: type");
            assert_eq!(required.contains(name), *is_required, "{tool_name}.{name}: required flag");
        }
        let array_items = |name: &str| properties[name]["items"]["type"].clone();
        if properties.contains_key("recipients") {
            assert_eq!(array_items("recipients"), "string");
        }
        if properties.contains_key("media_urls") {
            assert_eq!(array_items("media_urls"), "string");
        }
    }
    let limit = &server.tools().iter().find(|tool| tool.name == "get_messages").unwrap().input_schema["properties"]["limit"];
    assert_eq!((limit["default"].as_i64(), limit["maximum"].as_i64()), (Some(50), Some(50)));
}

#[test]
fn every_tool_states_all_four_annotations_and_an_output_schema() {
    let server = ToolServer::new(NoUpstream, tool_router(), &TOOLS, Implementation::new("test", "0"), None);
    assert_eq!(server.tools().len(), TOOLS.len());
    for tool in server.tools() {
        let annotations = tool.annotations.as_ref().unwrap_or_else(|| panic!("{}: no annotations", tool.name));
        assert!(annotations.read_only_hint.is_some() && annotations.destructive_hint.is_some(), "{}", tool.name);
        assert!(annotations.idempotent_hint.is_some() && annotations.open_world_hint.is_some(), "{}", tool.name);
        assert!(tool.title.is_some(), "{}: no title", tool.name);
        assert_eq!(tool.output_schema.as_ref().map(|schema| schema["type"].clone()), Some(Value::from("object")), "{}", tool.name);
    }
}

//! A generated "large messy spec": hundreds of operations cycling through the constructs real
//! specs contain, some of which the generator must leave out, and a manifest naming a few of
//! the ones it can carry. Shared by the test that checks the warnings and the bench that times
//! the run.

/// One operation's YAML under `paths`, and whether the generator can carry it.
fn operation(index: usize) -> (String, bool) {
    let id = format!("op{index}");
    let json = |status: &str| {
        format!(
            "        \"{status}\":\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: \"#/components/schemas/Item\"\n"
        )
    };
    let error = "        default:\n          description: error\n          content:\n            application/json:\n              schema:\n                $ref: \"#/components/schemas/Problem\"\n";
    let (method, extra, responses, carried) = match index % 12 {
        0 => ("get", "      parameters:\n        - {name: q, in: query, schema: {type: [string, \"null\"]}}\n".to_owned(), format!("{}{error}", json("200")), true),
        1 => ("post", "      requestBody:\n        content:\n          application/x-www-form-urlencoded:\n            schema: {$ref: \"#/components/schemas/Form\"}\n".to_owned(), format!("{}{}", json("200"), json("201")), true),
        2 => ("delete", String::new(), format!("        \"204\":\n          description: gone\n{error}"), true),
        3 => ("get", "      parameters:\n        - {name: X-Version, in: header, required: true, schema: {type: string}}\n".to_owned(), json("200"), true),
        4 => ("get", String::new(), "        \"200\":\n          description: text\n          content:\n            text/plain:\n              schema: {type: string}\n".to_owned(), true),
        5 => ("put", "      requestBody:\n        content:\n          application/json:\n            schema: {$ref: \"#/components/schemas/Item\"}\n          application/xml:\n            schema: {$ref: \"#/components/schemas/Item\"}\n".to_owned(), json("200"), true),
        6 => ("post", "      requestBody:\n        content:\n          multipart/form-data:\n            schema: {type: object, properties: {file: {type: string, format: binary}}}\n".to_owned(), json("200"), false),
        7 => ("get", "      parameters:\n        - {name: session, in: cookie, schema: {type: string}}\n".to_owned(), json("200"), false),
        8 => ("put", String::new(), format!("{}        \"204\":\n          description: unchanged\n", json("200")), false),
        9 => ("post", "      requestBody:\n        content:\n          application/x-www-form-urlencoded:\n            schema: {type: object, properties: {tags: {type: array, items: {type: string}}}}\n".to_owned(), "        \"204\":\n          description: done\n".to_owned(), false),
        10 => ("get", "      parameters:\n        - {name: filter, in: query, schema: {type: object, properties: {a: {type: string}}}}\n".to_owned(), json("200"), false),
        _ => ("get", String::new(), "        \"404\":\n          description: only an error\n".to_owned(), false),
    };
    let text = format!("  /things{index}:\n    {method}:\n      operationId: {id}\n{extra}      responses:\n{responses}");
    (text, carried)
}

/// The spec (OpenAPI 3.1), a manifest of tools over some carried operations, and how many
/// operations the generator must leave out.
pub(crate) fn large_messy_spec(operations: usize) -> (String, String, usize) {
    let mut spec = String::from("openapi: 3.1.0\ninfo:\n  title: Large messy fixture\n  version: \"1\"\nsecurity:\n  - key: []\npaths:\n");
    let mut left_out = 0;
    for index in 0..operations {
        let (text, carried) = operation(index);
        spec.push_str(&text);
        left_out += usize::from(!carried);
    }
    spec.push_str(concat!(
        "components:\n  securitySchemes:\n    key: {type: apiKey, in: header, name: X-Key}\n  schemas:\n",
        "    Item:\n      type: object\n      required: [id]\n      properties:\n        id: {type: string, readOnly: true}\n        name: {type: [string, \"null\"]}\n        parent: {$ref: \"#/components/schemas/Item\"}\n",
        "    Form:\n      type: object\n      properties:\n        name: {type: string}\n        count: {type: integer}\n",
        "    Problem:\n      type: object\n      properties:\n        detail: {type: string}\n",
    ));
    let mut manifest = String::new();
    for index in (0..operations).filter(|index| matches!(index % 12, 0 | 2 | 4)).take(30) {
        manifest.push_str(&format!(
            "[[tool]]\nname = \"tool_{index}\"\noperation = \"op{index}\"\ntitle = \"Tool {index}\"\nscope = \"things:read\"\ndescription = \"Tool {index}.\"\nannotations = {{ read_only = true, destructive = false, idempotent = true, open_world = false }}\n\n"
        ));
    }
    (spec, manifest, left_out)
}

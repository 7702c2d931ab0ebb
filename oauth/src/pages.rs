//! The sign-in and consent page and the error page: plain server-rendered HTML, no script,
//! readable on a phone and by a screen reader. Every value from a request is escaped.

/// What the consent page shows and posts back.
pub(crate) struct ConsentView<'a> {
    pub client_name: &'a str,
    /// For an app identified by a client ID metadata document, the host that published it;
    /// the name is the app's own claim either way.
    pub(crate) published_at: Option<&'a str>,
    pub redirect_host: &'a str,
    /// (scope, what it allows), in the order asked for.
    pub scopes: Vec<(&'a str, &'a str)>,
    pub request_id: &'a str,
    pub csrf_token: &'a str,
    pub sandbox: bool,
    /// A problem with the last submission, shown at the top.
    pub error: Option<&'a str>,
}

pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1a1a1a;line-height:1.5}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}
.card{background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
.sandbox{background:#fff4ce;border:2px solid #8a6d00;border-radius:8px;padding:.75rem;margin-bottom:1rem}
.error{background:#fde7e9;border:2px solid #a4262c;border-radius:8px;padding:.75rem;margin-bottom:1rem}
ul{padding-left:1.25rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=password]{width:100%;box-sizing:border-box;font-size:1rem;padding:.7rem;border:2px solid #555;border-radius:8px;margin-top:.25rem}
.hint{font-size:.9rem;color:#444;margin:.25rem 0 0}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
button{font-size:1rem;padding:.8rem 1.2rem;border-radius:8px;border:2px solid #0b5cad;cursor:pointer;min-height:44px;flex:1 1 10rem}
button.primary{background:#0b5cad;color:#fff}
button.secondary{background:#fff;color:#0b5cad}
button:focus-visible,input:focus-visible{outline:3px solid #ffbf00;outline-offset:2px}
hr{border:none;border-top:1px solid #ccc;margin:1.5rem 0}
";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main><div class=\"card\">{body}</div></main></body></html>\n",
        escape(title)
    )
}

pub(crate) fn consent_page(view: &ConsentView<'_>) -> String {
    let mut body = String::new();
    body.push_str("<h1>Connect to Clerk Chat</h1>");
    if view.sandbox {
        body.push_str(
            "<p class=\"sandbox\" role=\"note\"><strong>Sandbox.</strong> This server runs on a local sandbox of Clerk Chat: \
             no message is really sent and nobody is billed.</p>",
        );
    }
    if let Some(error) = view.error {
        body.push_str(&format!("<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>", escape(error)));
    }
    let unverified = match view.published_at {
        Some(host) => format!(" <span class=\"hint\">(name given by the app itself, in its description at {})</span>", escape(host)),
        None => " <span class=\"hint\">(name given by the app itself)</span>".to_owned(),
    };
    body.push_str(&format!(
        "<p><strong>{}</strong>{unverified} wants to use your Clerk Chat account. When you answer, you go back to <strong>{}</strong>.</p>",
        escape(view.client_name),
        escape(view.redirect_host)
    ));
    body.push_str("<h2 style=\"font-size:1.05rem\">It asks to</h2><ul>");
    for (scope, meaning) in &view.scopes {
        body.push_str(&format!("<li>{} <span class=\"hint\">({})</span></li>", escape(meaning), escape(scope)));
    }
    body.push_str("</ul>");
    let hidden = format!(
        "<input type=\"hidden\" name=\"request\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(view.request_id),
        escape(view.csrf_token)
    );
    if view.sandbox {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/authorize\">{hidden}<div class=\"actions\">\
             <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"sandbox\">Allow, with the sandbox demo team</button>\
             <button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div></form><hr>\
             <p>Or use another sandbox team's API key:</p>"
        ));
    }
    let described = if view.error.is_some() { "key-hint form-error" } else { "key-hint" };
    // On the sandbox the Deny button above already answers for the whole page.
    let key_buttons = if view.sandbox {
        "<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow, with this key</button>"
    } else {
        "<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>"
    };
    body.push_str(&format!(
        "<form method=\"post\" action=\"/authorize\">{hidden}\
         <label for=\"api_key\">Your Clerk Chat API key</label>\
         <input type=\"password\" id=\"api_key\" name=\"api_key\" autocomplete=\"off\" spellcheck=\"false\" aria-describedby=\"{described}\">\
         <p class=\"hint\" id=\"key-hint\">Clerk Chat &gt; Settings &gt; API. It is checked with Clerk Chat, then kept encrypted on this server; \
         the app never sees it.</p>\
         <div class=\"actions\">{key_buttons}</div></form>"
    ));
    document("Connect to Clerk Chat", &body)
}

pub(crate) fn error_page(title: &str, message: &str) -> String {
    document(title, &format!("<h1>{}</h1><p role=\"alert\">{}</p>", escape(title), escape(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_values_are_escaped() {
        let page = consent_page(&ConsentView {
            client_name: "<script>alert(1)</script>",
            published_at: Some("<b>evil</b>"),
            redirect_host: "a\"b",
            scopes: vec![("messages:send", "Send SMS")],
            request_id: "r",
            csrf_token: "c",
            sandbox: false,
            error: None,
        });
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("a&quot;b"));
        assert!(page.contains("in its description at &lt;b&gt;evil&lt;/b&gt;"), "{page}");
    }
}

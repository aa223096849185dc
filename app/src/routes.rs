//! The URLs of the app's pages, built in one place: the pages link with them
//! and the server's alert messages point at them, so a link and the route it
//! opens cannot drift apart.

/// `/metric/<name>`, for one slice (`dimension=value`) and/or the day around
/// a moment (`at`, Unix seconds); the slice percent-encoded.
pub fn metric_page(metric: &str, slice: Option<&str>, at: Option<i64>) -> String {
    let mut query = Vec::new();
    if let Some(slice) = slice {
        query.push(format!("slice={}", encode(slice)));
    }
    if let Some(at) = at {
        query.push(format!("at={at}"));
    }
    if query.is_empty() {
        format!("/metric/{metric}")
    } else {
        format!("/metric/{metric}?{}", query.join("&"))
    }
}

/// `/experiment/<name>`: one experiment's groups and effect over time.
pub fn experiment_page(name: &str) -> String {
    format!("/experiment/{}", encode(name))
}

/// Percent-encodes everything but unreserved characters (RFC 3986); the
/// server's dashboard links encode their values with it too.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_links_encode_the_slice_and_carry_the_moment() {
        assert_eq!(metric_page("feed_views", None, None), "/metric/feed_views");
        assert_eq!(
            metric_page("feed_views", Some("os=Android"), None),
            "/metric/feed_views?slice=os%3DAndroid"
        );
        assert_eq!(
            metric_page(
                "feed_views",
                Some("country=Côte d'Ivoire"),
                Some(1_763_900_100)
            ),
            "/metric/feed_views?slice=country%3DC%C3%B4te%20d%27Ivoire&at=1763900100"
        );
        assert_eq!(
            metric_page("feed_ctr", None, Some(60)),
            "/metric/feed_ctr?at=60"
        );
        assert_eq!(
            experiment_page("feed-ranking-v2"),
            "/experiment/feed-ranking-v2"
        );
        assert_eq!(experiment_page("a b"), "/experiment/a%20b");
    }
}

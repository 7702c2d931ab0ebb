//! The store on both backends: the cap, the counts the triggers keep, expiry, the sweep, and
//! races that one claim or retake must win.

use clerk_store::DatabaseUrl;
use serde_json::json;

use super::*;

fn key(name: &str) -> CallKey {
    CallKey { account: "account-1".to_owned(), tool: "send_message", key: name.to_owned() }
}

/// A SQLite file and a fresh PostgreSQL database: every test runs on both.
async fn backends(directory: &tempfile::TempDir) -> [DatabaseUrl; 2] {
    [DatabaseUrl::sqlite(directory.path().join("db")), clerk_store::testing::fresh_postgres_database().await]
}

async fn expire(store: &SqlSafeSends, name: &str) {
    with_database!(&store.database, |writer, reader| {
        sqlx::query("UPDATE idempotency_keys SET expires_at = 0 WHERE idempotency_key = $1").bind(name).execute(writer).await.unwrap();
    });
}

#[tokio::test]
async fn keys_are_capped_per_account_counted_by_the_triggers_and_expired_ones_reused() {
    let directory = tempfile::tempdir().unwrap();
    for url in backends(&directory).await {
        let store = SqlSafeSends::with_cap(crate::state::open(&url).await.unwrap(), Duration::from_secs(600), 2);
        let later = now_ms() + 60_000;
        assert_eq!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::Claimed, "{url}");
        assert_eq!(store.claim(&key("b"), "f", later).await.unwrap(), Claim::Claimed);
        assert_eq!(store.claim(&key("c"), "f", later).await.unwrap(), Claim::Full { limit: 2 }, "the third live key is refused ({url})");
        let other_account = CallKey { account: "account-2".to_owned(), ..key("c") };
        assert_eq!(store.claim(&other_account, "f", later).await.unwrap(), Claim::Claimed, "the cap is per account");

        assert!(matches!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::InFlight { .. }));
        assert_eq!(store.claim(&key("a"), "g", later).await.unwrap(), Claim::OtherArguments);
        store.settle(&key("a"), &json!({"data": {"id": 7}})).await.unwrap();
        assert_eq!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::Done(json!({"data": {"id": 7}})));

        store.release(&key("b")).await.unwrap();
        assert_eq!(store.claim(&key("c"), "f", later).await.unwrap(), Claim::Claimed, "a released key frees its place");

        // An expired key is taken over by a new call with the same key, without a new place.
        expire(&store, "a").await;
        assert_eq!(store.claim(&key("a"), "g", later).await.unwrap(), Claim::Claimed);
        expire(&store, "c").await;
        store.sweep(Duration::from_secs(600)).await.unwrap();
        assert_eq!(store.claim(&key("d"), "f", later).await.unwrap(), Claim::Claimed, "a swept key frees its place ({url})");
    }
}

#[tokio::test]
async fn of_concurrent_claims_and_retakes_one_wins() {
    let directory = tempfile::tempdir().unwrap();
    for url in backends(&directory).await {
        let store = SqlSafeSends::new(crate::state::open(&url).await.unwrap(), Duration::from_secs(600));
        let later = now_ms() + 60_000;
        let raced = key("raced");
        let claims = futures::future::join_all((0..8).map(|_| store.claim(&raced, "f", later))).await;
        let won = claims.iter().filter(|claim| matches!(claim, Ok(Claim::Claimed))).count();
        assert_eq!(won, 1, "{url}: {claims:?}");

        store.mark_unknown(&key("raced")).await.unwrap();
        let Claim::Unknown { started_at_ms } = store.claim(&key("raced"), "f", later).await.unwrap() else { panic!("unknown") };
        let stale_before = now_ms() - 20_000;
        assert!(store.retake(&key("raced"), started_at_ms, stale_before).await.unwrap());
        assert!(!store.retake(&key("raced"), started_at_ms, stale_before).await.unwrap(), "the second retry finds it taken ({url})");
        assert!(matches!(store.claim(&key("raced"), "f", later).await.unwrap(), Claim::InFlight { .. }));
    }
}

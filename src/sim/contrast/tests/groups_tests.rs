use serde_json::json;

use super::Fixture;

#[tokio::test]
async fn group_put_replaces_whole_membership() {
    let f = Fixture::new().await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let (_, body) = f.create(&format!("{name}@example.com"), "ROLE_VIEW").await;
        ids.push(body["user"]["user_id"].as_str().unwrap().to_string());
    }
    let members = |list: &[&String]| json!({"users": list.iter().map(|id| json!({"user_id": id})).collect::<Vec<_>>()});
    let (status, body) = f
        .send(
            f.http
                .put(f.url("/groups/g-1/users"))
                .json(&members(&[&ids[0], &ids[1]])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        f.sim.group_members("g-1"),
        vec![ids[0].clone(), ids[1].clone()]
    );

    // Replacing, not adding: only c remains.
    f.send(
        f.http
            .put(f.url("/groups/g-1/users"))
            .json(&members(&[&ids[2]])),
    )
    .await;
    assert_eq!(f.sim.group_members("g-1"), vec![ids[2].clone()]);

    // Unknown user: 400, membership untouched.
    let ghost = "ghost".to_string();
    let (status, _) = f
        .send(
            f.http
                .put(f.url("/groups/g-1/users"))
                .json(&members(&[&ids[0], &ghost])),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(f.sim.group_members("g-1"), vec![ids[2].clone()]);
    let (status, _) = f
        .send(
            f.http
                .put(f.url("/groups/g-9/users"))
                .json(&members(&[&ids[0]])),
        )
        .await;
    assert_eq!(status, 404);

    // Public-docs variant with the full group body.
    let mut body = members(&[&ids[0]]);
    body["name"] = json!("Developers");
    let (status, resp) = f.send(f.http.put(f.url("/groups/g-1")).json(&body)).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(f.sim.group_members("g-1"), vec![ids[0].clone()]);

    let (_, list) = f.send(f.http.get(f.url("/groups"))).await;
    assert_eq!(list["groups"][0]["users"][0]["user_id"], ids[0].as_str());
    let (_, user) = f
        .send(f.http.get(f.url(&format!("/users/{}", ids[0]))))
        .await;
    assert_eq!(user["user"]["groups"][0]["group_id"], "g-1");

    // Deleting a user drops its memberships.
    f.sim.delete_user(&ids[0]);
    assert!(f.sim.group_members("g-1").is_empty());
    f.server.shutdown().await;
}

//! /api/docs/ in Chromium: Swagger UI renders this server's description with nothing
//! refused by the page's Content-Security-Policy, passes axe-core, and "Try it out" of
//! POST /api/token/ obtains a pair from this same server.

use serde_json::json;

use super::Browser;
use crate::both_databases;
use crate::common::{Db, TestServer};

async fn try_it_out(db: Db) {
    let Some(browser) = Browser::start(&format!("api-docs-{db:?}").to_lowercase()).await else {
        return;
    };
    let server = TestServer::start(db, "").await;
    server.user("alice", "alice-password-1").await;

    browser.goto(&server.url("/api/docs/")).await;
    let operation = "#operations-tokens-obtain_pair";
    browser.find(operation).await;
    assert_eq!(
        browser.client.title().await.unwrap(),
        "jwtd API",
        "the page's own title"
    );
    assert!(browser.text().await.contains("/api/token/refresh/"));
    browser.axe("/api/docs/").await;
    browser.screenshot("page").await;

    // Open POST /api/token/, "Try it out" with alice's credentials, "Execute".
    browser
        .find(&format!("{operation} .opblock-summary-control"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .find(&format!("{operation} .try-out__btn"))
        .await
        .click()
        .await
        .unwrap();
    let body = browser
        .find(&format!("{operation} textarea.body-param__text"))
        .await;
    body.clear().await.unwrap();
    body.send_keys(&json!({"username": "alice", "password": "alice-password-1"}).to_string())
        .await
        .unwrap();
    browser
        .find(&format!("{operation} .execute"))
        .await
        .click()
        .await
        .unwrap();
    let status = format!("{operation} .live-responses-table tr.response .response-col_status");
    browser
        .wait_until(
            "Swagger UI shows the answer",
            &format!("const s = document.querySelector('{status}'); return !!s && s.innerText.trim() !== ''"),
        )
        .await;
    let shown = browser.find(&status).await.text().await.unwrap();
    assert_eq!(shown.trim(), "200", "the answer's status as the page shows it");
    let answer = browser
        .find(&format!(
            "{operation} .live-responses-table tr.response .response-col_description pre"
        ))
        .await
        .text()
        .await
        .unwrap();
    let pair: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    // The access token the page got is one this server signed for alice.
    let me = server.me(pair["access"].as_str().unwrap()).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "alice");
    browser.axe("/api/docs/ after Try it out").await;
    browser.scroll_to(&status).await;
    browser.screenshot("try-it-out").await;

    // "Authorize" with that access token, then "Try it out" of GET /api/me/: the page sends
    // the token, and this server answers for alice.
    browser.scroll_to(".auth-wrapper .btn.authorize").await;
    browser
        .find(".auth-wrapper .btn.authorize")
        .await
        .click()
        .await
        .unwrap();
    // The dialog lists the schemes in the document's order: HTTP Basic (introspection
    // clients), then the bearer token.
    let jwt = ".modal-ux .auth-container:nth-child(2)";
    assert!(browser.find(jwt).await.text().await.unwrap().contains("Bearer"));
    let bearer = browser.find(&format!("{jwt} input[type=text]")).await;
    bearer.send_keys(pair["access"].as_str().unwrap()).await.unwrap();
    browser.axe("/api/docs/, the Authorize dialog").await;
    browser.screenshot("authorize").await;
    browser
        .find(&format!("{jwt} button.authorize"))
        .await
        .click()
        .await
        .unwrap();
    browser.find(".modal-ux .btn-done").await.click().await.unwrap();
    let me_op = "#operations-users-me";
    browser.scroll_to(me_op).await;
    browser
        .find(&format!("{me_op} .opblock-summary-control"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .find(&format!("{me_op} .try-out__btn"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .find(&format!("{me_op} .execute"))
        .await
        .click()
        .await
        .unwrap();
    let status = format!("{me_op} .live-responses-table tr.response .response-col_status");
    browser
        .wait_until(
            "Swagger UI shows the answer of /api/me/",
            &format!("const s = document.querySelector('{status}'); return !!s && s.innerText.trim() !== ''"),
        )
        .await;
    assert_eq!(browser.find(&status).await.text().await.unwrap().trim(), "200");
    let answer = browser
        .find(&format!(
            "{me_op} .live-responses-table tr.response .response-col_description pre"
        ))
        .await
        .text()
        .await
        .unwrap();
    let me: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(me["username"], "alice");
    browser.axe("/api/docs/ after Try it out of /api/me/").await;

    browser
        .at_phone_width(async |b: &Browser| {
            b.axe("/api/docs/ at 375 px").await;
            let width = b
                .client
                .execute("return document.documentElement.scrollWidth", vec![])
                .await
                .unwrap();
            assert!(
                width.as_i64().unwrap() <= 375,
                "the page is {width} px wide at 375 px"
            );
            b.screenshot("phone").await;
        })
        .await;

    // Nothing refused by the Content-Security-Policy, no script error, no failed load.
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    // …which the harness would have seen: an error written now is read back.
    browser
        .client
        .execute("console.error('jwtd-probe')", vec![])
        .await
        .unwrap();
    let errors = browser.console_errors().await;
    assert!(errors.iter().any(|e| e.contains("jwtd-probe")), "{errors:?}");
    browser.close().await;
}

both_databases!(try_it_out);

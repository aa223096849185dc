//! A fake Telegram Bot API over real HTTP for the tests: an axum server on
//! 127.0.0.1 that checks the token in the path, records every request
//! (multipart fields and files, JSON bodies), answers from a per-method script
//! (default: success with increasing message ids), serves queued button
//! presses to `getUpdates` (forgetting those below the confirmed offset) and
//! can be switched "down" (every call answers 502).
// Each test binary includes this file and uses a subset of it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use server::telegram::client::{BotToken, ClientConfig, TelegramClient};

pub const TOKEN: &str = "7654321:AAE-very_secret-TOKEN";
pub const CHAT: i64 = -1001234567890;

/// One request as the fake saw it.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub method: String,
    pub token_ok: bool,
    /// Multipart text fields.
    pub fields: HashMap<String, String>,
    /// Multipart files: name -> (file name, content type, bytes).
    pub files: HashMap<String, (String, String, Vec<u8>)>,
    /// JSON body.
    pub json: Option<Value>,
    /// The message id the fake answered with (successful sends and edits).
    pub message_id: Option<i64>,
}

/// A scripted answer: status, body (raw, so non-JSON can be sent) and delay.
#[derive(Clone)]
struct Scripted {
    status: u16,
    body: String,
    delay: Duration,
}

#[derive(Default)]
struct Fake {
    requests: Vec<Recorded>,
    script: HashMap<String, VecDeque<Scripted>>,
    next_message_id: i64,
    /// Queued updates (button presses), oldest first.
    updates: Vec<Value>,
    next_update_id: i64,
    down: bool,
}

#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<Fake>>,
    pub base_url: String,
    /// Keeps the server's runtime alive when started with [`FakeApi::spawn`].
    _runtime: Option<Arc<tokio::runtime::Runtime>>,
}

impl FakeApi {
    /// Starts on the caller's tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Fake {
            next_message_id: 100,
            next_update_id: 1,
            ..Default::default()
        }));
        let app = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            state,
            base_url: format!("http://{addr}"),
            _runtime: None,
        }
    }

    /// Starts on a runtime of its own, for tests that block (running `vigil`).
    pub fn spawn() -> Self {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime"),
        );
        let mut fake = runtime.block_on(Self::start());
        fake._runtime = Some(runtime);
        fake
    }

    /// While down, every call answers 502 Bad Gateway.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Queues a button press on `message_id` in `chat` with `data`, from `@username`.
    pub fn press(&self, chat: i64, message_id: i64, data: &str, username: &str) {
        let mut fake = self.state.lock().unwrap();
        let update_id = fake.next_update_id;
        fake.next_update_id += 1;
        fake.updates.push(json!({
            "update_id": update_id,
            "callback_query": {
                "id": format!("cb{update_id}"),
                "from": {"id": 42, "is_bot": false, "first_name": "Ann", "username": username},
                "message": {"message_id": message_id, "date": 1_763_900_000, "chat": {"id": chat, "type": "supergroup"}},
                "chat_instance": "1",
                "data": data,
            }
        }));
    }

    /// Recorded requests of one method.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    pub fn client(&self) -> TelegramClient {
        self.client_with(TOKEN, Duration::from_secs(5))
    }

    pub fn client_with(&self, token: &str, timeout: Duration) -> TelegramClient {
        let mut config = ClientConfig::new(BotToken::new(token)).with_base_url(&self.base_url);
        config.timeout = timeout;
        TelegramClient::new(config).unwrap()
    }

    pub fn push(&self, method: &str, status: u16, body: impl Into<String>) {
        self.push_delayed(method, status, body, Duration::ZERO);
    }

    pub fn push_delayed(
        &self,
        method: &str,
        status: u16,
        body: impl Into<String>,
        delay: Duration,
    ) {
        self.state
            .lock()
            .unwrap()
            .script
            .entry(method.to_string())
            .or_default()
            .push_back(Scripted {
                status,
                body: body.into(),
                delay,
            });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn default_result(fake: &mut Fake, method: &str, json: Option<&Value>) -> Value {
    let chat_id = json
        .and_then(|j| j.get("chat_id"))
        .and_then(Value::as_i64)
        .unwrap_or(CHAT);
    match method {
        "sendPhoto" | "sendMessage" | "editMessageCaption" => {
            fake.next_message_id += 1;
            json!({
                "message_id": fake.next_message_id,
                "date": 1_763_900_000,
                "chat": {"id": chat_id, "type": "supergroup", "title": "alerts"},
            })
        }
        "getUpdates" => {
            // Confirming an offset forgets everything below it, as Telegram does.
            if let Some(offset) = json.and_then(|j| j.get("offset")).and_then(Value::as_i64) {
                fake.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            json!(fake.updates.clone())
        }
        _ => json!(true),
    }
}

async fn handle(
    State(state): State<Arc<Mutex<Fake>>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let mut recorded = Recorded {
        method: method.clone(),
        token_ok: bot == format!("bot{TOKEN}"),
        ..Default::default()
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let mut form = Multipart::from_request(request, &()).await.unwrap();
        while let Some(field) = form.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    let content_type = field.content_type().unwrap_or_default().to_string();
                    let bytes = field.bytes().await.unwrap().to_vec();
                    recorded
                        .files
                        .insert(name, (file_name, content_type, bytes));
                }
                None => {
                    recorded.fields.insert(name, field.text().await.unwrap());
                }
            }
        }
    } else {
        let bytes = Bytes::from_request(request, &()).await.unwrap();
        recorded.json = serde_json::from_slice(&bytes).ok();
    }
    let (scripted, token_ok) = {
        let mut fake = state.lock().unwrap();
        let token_ok = recorded.token_ok;
        if fake.down {
            fake.requests.push(recorded);
            let body = json!({"ok": false, "error_code": 502, "description": "Bad Gateway"});
            return (StatusCode::BAD_GATEWAY, body.to_string()).into_response();
        }
        let scripted = fake.script.get_mut(&method).and_then(VecDeque::pop_front);
        let scripted = scripted.unwrap_or_else(|| {
            let result = default_result(&mut fake, &method, recorded.json.as_ref());
            recorded.message_id = result.get("message_id").and_then(Value::as_i64);
            Scripted {
                status: 200,
                body: json!({"ok": true, "result": result}).to_string(),
                delay: Duration::ZERO,
            }
        });
        fake.requests.push(recorded);
        (scripted, token_ok)
    };
    if !token_ok {
        let body = json!({"ok": false, "error_code": 401, "description": "Unauthorized"});
        return (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    }
    tokio::time::sleep(scripted.delay).await;
    let status = StatusCode::from_u16(scripted.status).unwrap();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        scripted.body,
    )
        .into_response()
}

//! In-memory stand-ins for the media and ML services.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use common::client::ClientError;
use product::domain::clients::{MediaApi, MediaInfo, MlApi, StoryRequest, StoryResponse};

/// The media service: knows the items added to it.
#[derive(Default)]
pub(crate) struct FakeMediaApi {
    items: Mutex<HashMap<String, MediaInfo>>,
}

impl FakeMediaApi {
    /// A media item `id` owned by `owner`.
    pub(crate) fn add(&self, id: &str, owner: &str) {
        let info = MediaInfo {
            id: id.to_owned(),
            owner_id: owner.to_owned(),
            sha256: format!("{:0>64}", id.len()),
        };
        self.items.lock().unwrap().insert(id.to_owned(), info);
    }
}

#[async_trait]
impl MediaApi for FakeMediaApi {
    async fn get(&self, id: &str) -> Result<Option<MediaInfo>, ClientError> {
        Ok(self.items.lock().unwrap().get(id).cloned())
    }
}

/// The ML service: answers a fixed story, or is down.
#[derive(Default)]
pub(crate) struct FakeMl {
    story: Mutex<Option<String>>,
    refuse: std::sync::atomic::AtomicBool,
    requests: Mutex<Vec<StoryRequest>>,
}

impl FakeMl {
    /// Answer every request with `story`.
    pub(crate) fn answer(&self, story: &str) {
        *self.story.lock().unwrap() = Some(story.to_owned());
    }

    /// Answer as the ML service does when its model declines the content.
    pub(crate) fn refuse(&self) {
        self.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// What the service was asked, oldest first.
    pub(crate) fn requests(&self) -> Vec<StoryRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl MlApi for FakeMl {
    async fn cultural_story(&self, request: &StoryRequest) -> Result<StoryResponse, ClientError> {
        self.requests.lock().unwrap().push(request.clone());
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            let problem = common::error::Problem {
                type_uri: "urn:craftchain:problem:content_refused".to_owned(),
                title: "Unprocessable Entity".to_owned(),
                status: 422,
                detail: Some("gemini declined to answer: finish reason SAFETY".to_owned()),
                code: "content_refused".to_owned(),
                request_id: None,
                errors: Vec::new(),
                extensions: serde_json::Map::new(),
            };
            return Err(ClientError::Problem {
                service: "ml",
                status: http::StatusCode::UNPROCESSABLE_ENTITY,
                problem: Box::new(problem),
            });
        }
        self.story
            .lock()
            .unwrap()
            .clone()
            .map(|story| StoryResponse {
                story,
                generated_by: Some("template".to_owned()),
            })
            .ok_or_else(|| ClientError::Unavailable {
                service: "ml",
                reason: "down in this test".to_owned(),
            })
    }
}

/// The blockchain service's escrow: records what it was told to expect.
#[derive(Default)]
pub(crate) struct FakeEscrow {
    pub(crate) expected: Mutex<Vec<(String, common::Money)>>,
}

#[async_trait]
impl product::domain::payments::escrow::EscrowApi for FakeEscrow {
    async fn expect(
        &self,
        order_id: &str,
        amount: common::Money,
    ) -> Result<product::domain::payments::escrow::EscrowTerms, ClientError> {
        self.expected
            .lock()
            .unwrap()
            .push((order_id.to_owned(), amount));
        Ok(product::domain::payments::escrow::EscrowTerms {
            order_id: order_id.to_owned(),
            chain_id: 31337,
            contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".to_owned(),
            token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".to_owned(),
            order_key: format!("0x{:0>64}", order_id.len()),
            amount,
            token_amount: amount.amount.to_string(),
            rpc_url: None,
        })
    }
}

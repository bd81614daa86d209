//! handover's own etcd v3 client: the few RPCs the HA code uses, over
//! gRPC (tonic), TLS by rustls.
//!
//! Owns the connection (lazy, balanced over the endpoints, HTTP/2
//! keepalives, a per-request timeout), etcd users (a token from
//! `Authenticate`, sent as `token` metadata with every request and fetched
//! again once when etcd says it is invalid or expired), and small builders
//! in the style of the `etcd-client` crate handover used before ([`Txn`],
//! [`Compare`], [`TxnOp`], [`GetOptions`], ...), so the HA code reads the
//! same. The protobuf messages and gRPC stubs ([`pb`]) are generated from
//! `etcd.proto` beside this file into `etcdserverpb.rs`, which is checked
//! in: building needs no protoc (docs/etcd.md; the test `codegen` below
//! regenerates it and compares). Must not know handover's keys, what a
//! lease means, or leadership: [`super`] does.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};

pub use tonic::transport::{Certificate, ClientTlsConfig as TlsOptions, Identity};

/// The messages and client stubs generated from `etcd.proto` (etcd's wire
/// names and field numbers).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    include!("etcdserverpb.rs");
}

pub use pb::range_request::{SortOrder, SortTarget};
pub use pb::{
    DeleteRangeResponse, KeyValue, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseRevokeResponse,
    PutResponse, RangeResponse, ResponseHeader, TxnResponse,
};

/// The metadata key etcd reads a user's token from.
const TOKEN: &str = "token";

/// The message etcd sends with an invalid or expired token.
const INVALID_TOKEN: &str = "etcdserver: invalid auth token";

/// Why an etcd request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An endpoint that is not a usable URL, or TLS settings it refuses.
    #[error(
        "cannot use the etcd endpoint {endpoint:?}: {reason}; write it as http://HOST:PORT (https:// for TLS)"
    )]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// etcd, or the connection to it, answered with an error.
    #[error("{}", describe(.0))]
    Status(Box<tonic::Status>),
    /// The token etcd gave cannot be sent as metadata.
    #[error(
        "etcd gave user {user} a token that is not ASCII; check the etcd server's --auth-token setting"
    )]
    Token {
        /// The user.
        user: String,
    },
    /// The keepalive stream closed before the request could be sent.
    #[error("the lease keepalive stream to etcd is closed; it is opened again on the next renewal")]
    KeepAliveClosed,
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Self {
        Error::Status(Box::new(s))
    }
}

impl Error {
    /// The gRPC status code, when etcd (or the transport) gave one.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Error::Status(s) => Some(s.code()),
            _ => None,
        }
    }
}

/// A status as a sentence: etcd's message, the code, and the causes
/// (a refused connection, a certificate error) that tonic keeps as
/// sources.
fn describe(s: &tonic::Status) -> String {
    let mut text = format!("etcd request failed ({:?}): {}", s.code(), s.message());
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// How to reach etcd.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    keep_alive: Option<(Duration, Duration)>,
    keep_alive_while_idle: bool,
    tls: Option<TlsOptions>,
    user: Option<(String, String)>,
}

impl ConnectOptions {
    /// No timeouts, no TLS, no user.
    pub fn new() -> Self {
        ConnectOptions::default()
    }

    /// How long opening a connection may take.
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// How long each request may take (until its answer's headers).
    pub fn with_timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// HTTP/2 pings every `interval`; the connection is dropped when one
    /// is not answered within `timeout`.
    pub fn with_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keep_alive = Some((interval, timeout));
        self
    }

    /// Ping also while no request is running.
    pub fn with_keep_alive_while_idle(mut self, on: bool) -> Self {
        self.keep_alive_while_idle = on;
        self
    }

    /// Speak TLS (the endpoints must be `https://`).
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticate as `user` with `password` (etcd's users).
    pub fn with_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some((user.into(), password.into()));
        self
    }
}

/// A connection to an etcd cluster. Clones share the connection and the
/// user's token.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    user: Option<Arc<(String, String)>>,
    token: Arc<RwLock<Option<MetadataValue<Ascii>>>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("user", &self.user.as_ref().map(|u| &u.0))
            .finish_non_exhaustive()
    }
}

/// One endpoint with the options applied.
fn endpoint(url: &str, opts: &ConnectOptions) -> Result<Endpoint, Error> {
    let bad = |reason: String| Error::Endpoint {
        endpoint: url.to_string(),
        reason,
    };
    let https = url.starts_with("https://");
    if !https && !url.starts_with("http://") {
        return Err(bad("it names neither http:// nor https://".into()));
    }
    let mut e = Endpoint::from_shared(url.to_string()).map_err(|e| bad(e.to_string()))?;
    match (&opts.tls, https) {
        (Some(tls), true) => e = e.tls_config(tls.clone()).map_err(|e| bad(e.to_string()))?,
        (Some(_), false) => return Err(bad("TLS settings were given for http://".into())),
        (None, true) => return Err(bad("https:// needs TLS settings (a CA)".into())),
        (None, false) => {}
    }
    if let Some((interval, timeout)) = opts.keep_alive {
        e = e
            .keep_alive_while_idle(opts.keep_alive_while_idle)
            .http2_keep_alive_interval(interval)
            .keep_alive_timeout(timeout);
    }
    if let Some(t) = opts.timeout {
        e = e.timeout(t);
    }
    if let Some(t) = opts.connect_timeout {
        e = e.connect_timeout(t);
    }
    Ok(e)
}

/// True when etcd refused a request's token (expired or unknown).
fn invalid_token(s: &tonic::Status) -> bool {
    match s.code() {
        tonic::Code::Unauthenticated => true,
        tonic::Code::Unknown => s.message() == INVALID_TOKEN,
        _ => false,
    }
}

/// The end of the range of every key that starts with `key`: `key` with
/// its last byte below 0xff incremented and what follows dropped; `[0]`
/// (every key) when there is none. Pure.
pub fn prefix_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

impl Client {
    /// A client for the etcd cluster at `endpoints` (`http://HOST:PORT`,
    /// or `https://` with [`ConnectOptions::with_tls`]). Connecting is
    /// lazy: nothing is dialled until the first request, and a member that
    /// is down is dialled again by later requests. Must run inside a Tokio
    /// runtime, which then serves the connection.
    pub async fn connect<S: AsRef<str>>(
        endpoints: &[S],
        options: Option<ConnectOptions>,
    ) -> Result<Client, Error> {
        let opts = options.unwrap_or_default();
        if endpoints.is_empty() {
            return Err(Error::Endpoint {
                endpoint: String::new(),
                reason: "no endpoint was given".into(),
            });
        }
        let list = endpoints
            .iter()
            .map(|e| endpoint(e.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Client {
            channel: Channel::balance_list(list.into_iter()),
            user: opts.user.map(Arc::new),
            token: Arc::default(),
            refresh: Arc::default(),
        })
    }

    fn token(&self) -> Option<MetadataValue<Ascii>> {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `msg` as a request, with the user's token.
    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        if let Some(t) = self.token() {
            r.metadata_mut().insert(TOKEN, t);
        }
        r
    }

    /// Fetches a token for the user unless another call already replaced
    /// `stale` (the token a refused request was sent with).
    async fn authenticate(&self, stale: Option<MetadataValue<Ascii>>) -> Result<(), Error> {
        let Some(user) = &self.user else {
            return Ok(());
        };
        let _one_at_a_time = self.refresh.lock().await;
        if self.token() != stale {
            return Ok(());
        }
        let answer = pb::auth_client::AuthClient::new(self.channel.clone())
            .authenticate(pb::AuthenticateRequest {
                name: user.0.clone(),
                password: user.1.clone(),
            })
            .await?
            .into_inner();
        let token = answer
            .token
            .parse::<MetadataValue<Ascii>>()
            .map_err(|_| Error::Token {
                user: user.0.clone(),
            })?;
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(())
    }

    /// Sends one unary request through `call`; with a user, fetches the
    /// token first, and again once if etcd refuses it.
    async fn unary<Req, Resp, F, Fut>(&self, msg: Req, call: F) -> Result<Resp, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        if self.user.is_some() && self.token().is_none() {
            self.authenticate(None).await?;
        }
        let sent_with = self.token();
        match call(self.channel.clone(), self.request(msg.clone())).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) if self.user.is_some() && invalid_token(&s) => {
                self.authenticate(sent_with).await?;
                Ok(call(self.channel.clone(), self.request(msg))
                    .await?
                    .into_inner())
            }
            Err(s) => Err(s.into()),
        }
    }

    /// Reads `key`, or with [`GetOptions::with_prefix`] every key that
    /// starts with it.
    pub async fn get(
        &mut self,
        key: impl Into<Vec<u8>>,
        options: Option<GetOptions>,
    ) -> Result<RangeResponse, Error> {
        let req = options.unwrap_or_default().request(key.into());
        self.unary(req, |ch, r| async move {
            pb::kv_client::KvClient::new(ch).range(r).await
        })
        .await
    }

    /// Writes `key`.
    pub async fn put(
        &mut self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        options: Option<PutOptions>,
    ) -> Result<PutResponse, Error> {
        let req = options
            .unwrap_or_default()
            .request(key.into(), value.into());
        self.unary(req, |ch, r| async move {
            pb::kv_client::KvClient::new(ch).put(r).await
        })
        .await
    }

    /// Deletes `key`, or with [`DeleteOptions::with_prefix`] every key that
    /// starts with it.
    pub async fn delete(
        &mut self,
        key: impl Into<Vec<u8>>,
        options: Option<DeleteOptions>,
    ) -> Result<DeleteRangeResponse, Error> {
        let req = options.unwrap_or_default().request(key.into());
        self.unary(req, |ch, r| async move {
            pb::kv_client::KvClient::new(ch).delete_range(r).await
        })
        .await
    }

    /// Runs a transaction.
    pub async fn txn(&mut self, txn: Txn) -> Result<TxnResponse, Error> {
        self.unary(txn.req, |ch, r| async move {
            pb::kv_client::KvClient::new(ch).txn(r).await
        })
        .await
    }

    /// Asks for a lease of `ttl` seconds.
    pub async fn lease_grant(&mut self, ttl: i64) -> Result<LeaseGrantResponse, Error> {
        let req = pb::LeaseGrantRequest { ttl, id: 0 };
        self.unary(req, |ch, r| async move {
            pb::lease_client::LeaseClient::new(ch).lease_grant(r).await
        })
        .await
    }

    /// Ends the lease `id` at once; its keys are deleted.
    pub async fn lease_revoke(&mut self, id: i64) -> Result<LeaseRevokeResponse, Error> {
        let req = pb::LeaseRevokeRequest { id };
        self.unary(req, |ch, r| async move {
            pb::lease_client::LeaseClient::new(ch).lease_revoke(r).await
        })
        .await
    }

    /// Opens a keepalive stream for lease `id` and **sends its first
    /// renewal** (etcd answers the stream's headers only with its first
    /// answer). Read that renewal's answer from the stream, then send each
    /// later one with [`LeaseKeeper::keep_alive`]: every request gets one
    /// answer, in order.
    pub async fn lease_keep_alive(
        &mut self,
        id: i64,
    ) -> Result<(LeaseKeeper, LeaseKeepAliveStream), Error> {
        if self.user.is_some() && self.token().is_none() {
            self.authenticate(None).await?;
        }
        let sent_with = self.token();
        match self.open_keep_alive(id).await {
            Err(Error::Status(s)) if self.user.is_some() && invalid_token(&s) => {
                self.authenticate(sent_with).await?;
                self.open_keep_alive(id).await
            }
            r => r,
        }
    }

    async fn open_keep_alive(&self, id: i64) -> Result<(LeaseKeeper, LeaseKeepAliveStream), Error> {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tx.send(pb::LeaseKeepAliveRequest { id })
            .await
            .map_err(|_| Error::KeepAliveClosed)?;
        let requests = self.request(tokio_stream::wrappers::ReceiverStream::new(rx));
        let answers = pb::lease_client::LeaseClient::new(self.channel.clone())
            .lease_keep_alive(requests)
            .await?
            .into_inner();
        Ok((
            LeaseKeeper { id, sender: tx },
            LeaseKeepAliveStream { answers },
        ))
    }
}

/// Sends renewals on a keepalive stream.
#[derive(Debug)]
pub struct LeaseKeeper {
    id: i64,
    sender: tokio::sync::mpsc::Sender<pb::LeaseKeepAliveRequest>,
}

impl LeaseKeeper {
    /// Sends one renewal; its answer comes on the stream.
    pub async fn keep_alive(&mut self) -> Result<(), Error> {
        self.sender
            .send(pb::LeaseKeepAliveRequest { id: self.id })
            .await
            .map_err(|_| Error::KeepAliveClosed)
    }
}

/// The answers of a keepalive stream, one per renewal sent.
#[derive(Debug)]
pub struct LeaseKeepAliveStream {
    answers: tonic::Streaming<LeaseKeepAliveResponse>,
}

impl LeaseKeepAliveStream {
    /// The next answer; `None` when etcd closed the stream.
    pub async fn message(&mut self) -> Result<Option<LeaseKeepAliveResponse>, Error> {
        Ok(self.answers.message().await?)
    }
}

/// What [`Client::get`] reads besides the key itself.
#[derive(Clone, Debug, Default)]
pub struct GetOptions {
    prefix: bool,
    keys_only: bool,
    sort: Option<(SortTarget, SortOrder)>,
}

impl GetOptions {
    /// Only the key.
    pub fn new() -> Self {
        GetOptions::default()
    }

    /// Every key that starts with the key.
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }

    /// Keys without their values.
    pub fn with_keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    /// Sorted by `target`, in `order`.
    pub fn with_sort(mut self, target: SortTarget, order: SortOrder) -> Self {
        self.sort = Some((target, order));
        self
    }

    fn request(self, key: Vec<u8>) -> pb::RangeRequest {
        let (target, order) = self.sort.unwrap_or((SortTarget::Key, SortOrder::None));
        pb::RangeRequest {
            range_end: if self.prefix {
                prefix_end(&key)
            } else {
                Vec::new()
            },
            key,
            keys_only: self.keys_only,
            sort_target: target as i32,
            sort_order: order as i32,
            ..pb::RangeRequest::default()
        }
    }
}

/// What [`Client::put`] writes besides the key and value.
#[derive(Clone, Debug, Default)]
pub struct PutOptions {
    lease: i64,
}

impl PutOptions {
    /// No lease.
    pub fn new() -> Self {
        PutOptions::default()
    }

    /// Attach the key to lease `id`: it goes when the lease does.
    pub fn with_lease(mut self, id: i64) -> Self {
        self.lease = id;
        self
    }

    fn request(self, key: Vec<u8>, value: Vec<u8>) -> pb::PutRequest {
        pb::PutRequest {
            key,
            value,
            lease: self.lease,
            prev_kv: false,
        }
    }
}

/// What [`Client::delete`] deletes besides the key itself.
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    prefix: bool,
}

impl DeleteOptions {
    /// Only the key.
    pub fn new() -> Self {
        DeleteOptions::default()
    }

    /// Every key that starts with the key.
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }

    fn request(self, key: Vec<u8>) -> pb::DeleteRangeRequest {
        pb::DeleteRangeRequest {
            range_end: if self.prefix {
                prefix_end(&key)
            } else {
                Vec::new()
            },
            key,
            prev_kv: false,
        }
    }
}

/// How a [`Compare`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Equal,
    /// Greater.
    Greater,
    /// Less.
    Less,
    /// Not equal.
    NotEqual,
}

impl CompareOp {
    fn wire(self) -> pb::compare::CompareResult {
        match self {
            CompareOp::Equal => pb::compare::CompareResult::Equal,
            CompareOp::Greater => pb::compare::CompareResult::Greater,
            CompareOp::Less => pb::compare::CompareResult::Less,
            CompareOp::NotEqual => pb::compare::CompareResult::NotEqual,
        }
    }
}

/// One condition of a [`Txn`].
#[derive(Clone, Debug)]
pub struct Compare(pb::Compare);

impl Compare {
    fn new(
        key: Vec<u8>,
        op: CompareOp,
        target: pb::compare::CompareTarget,
        with: pb::compare::TargetUnion,
    ) -> Compare {
        Compare(pb::Compare {
            result: op.wire() as i32,
            target: target as i32,
            key,
            target_union: Some(with),
            range_end: Vec::new(),
        })
    }

    /// The revision that created `key` (0 when it is absent) compared with
    /// `revision`.
    pub fn create_revision(key: impl Into<Vec<u8>>, op: CompareOp, revision: i64) -> Compare {
        Compare::new(
            key.into(),
            op,
            pb::compare::CompareTarget::Create,
            pb::compare::TargetUnion::CreateRevision(revision),
        )
    }

    /// `key`'s value compared with `value`.
    pub fn value(key: impl Into<Vec<u8>>, op: CompareOp, value: impl Into<Vec<u8>>) -> Compare {
        Compare::new(
            key.into(),
            op,
            pb::compare::CompareTarget::Value,
            pb::compare::TargetUnion::Value(value.into()),
        )
    }
}

/// One operation of a [`Txn`].
#[derive(Clone, Debug)]
pub struct TxnOp(pb::RequestOp);

impl TxnOp {
    /// Write `key`.
    pub fn put(
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        options: Option<PutOptions>,
    ) -> TxnOp {
        let r = options
            .unwrap_or_default()
            .request(key.into(), value.into());
        TxnOp(pb::RequestOp {
            request: Some(pb::request_op::Request::RequestPut(r)),
        })
    }

    /// Read `key`.
    pub fn get(key: impl Into<Vec<u8>>, options: Option<GetOptions>) -> TxnOp {
        let r = options.unwrap_or_default().request(key.into());
        TxnOp(pb::RequestOp {
            request: Some(pb::request_op::Request::RequestRange(r)),
        })
    }
}

/// A transaction: if every condition holds, run `and_then`, else
/// `or_else`; atomically.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    req: pb::TxnRequest,
}

impl Txn {
    /// No conditions, no operations.
    pub fn new() -> Self {
        Txn::default()
    }

    /// The conditions.
    pub fn when(mut self, compares: impl IntoIterator<Item = Compare>) -> Self {
        self.req.compare.extend(compares.into_iter().map(|c| c.0));
        self
    }

    /// What runs when every condition holds.
    pub fn and_then(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.req.success.extend(ops.into_iter().map(|o| o.0));
        self
    }

    /// What runs otherwise.
    pub fn or_else(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.req.failure.extend(ops.into_iter().map(|o| o.0));
        self
    }
}

/// The answer to one operation of a transaction.
#[derive(Clone, Debug)]
pub enum TxnOpResponse {
    /// A read's.
    Get(RangeResponse),
    /// A write's.
    Put(PutResponse),
    /// A delete's.
    Delete(DeleteRangeResponse),
    /// A nested transaction's.
    Txn(TxnResponse),
}

impl TxnResponse {
    /// Every condition held (`and_then` ran).
    pub fn succeeded(&self) -> bool {
        self.succeeded
    }

    /// Where and when the transaction was applied.
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.header.as_ref()
    }

    /// The answers of the operations that ran, in order.
    pub fn op_responses(&self) -> Vec<TxnOpResponse> {
        use pb::response_op::Response as R;
        self.responses
            .iter()
            .filter_map(|r| r.response.clone())
            .map(|r| match r {
                R::ResponseRange(g) => TxnOpResponse::Get(g),
                R::ResponsePut(p) => TxnOpResponse::Put(p),
                R::ResponseDeleteRange(d) => TxnOpResponse::Delete(d),
                R::ResponseTxn(t) => TxnOpResponse::Txn(t),
            })
            .collect()
    }
}

impl ResponseHeader {
    /// The store's revision when the request was applied.
    pub fn revision(&self) -> i64 {
        self.revision
    }
}

impl RangeResponse {
    /// The keys read.
    pub fn kvs(&self) -> &[KeyValue] {
        &self.kvs
    }
}

impl KeyValue {
    /// The key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The key as text.
    pub fn key_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.key)
    }

    /// The value.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The revision that created the key.
    pub fn create_revision(&self) -> i64 {
        self.create_revision
    }

    /// The revision of the key's last write.
    pub fn mod_revision(&self) -> i64 {
        self.mod_revision
    }
}

impl LeaseGrantResponse {
    /// The lease id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The TTL granted, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }
}

impl LeaseKeepAliveResponse {
    /// The TTL left, in seconds; 0 or less once the lease has expired.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_past_every_key_that_starts_with_it() {
        assert_eq!(prefix_end(b"/h/a"), b"/h/b".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
        assert_eq!(prefix_end(b""), vec![0]);
    }

    #[test]
    fn options_become_etcd_requests() {
        let r = GetOptions::new()
            .with_prefix()
            .with_keys_only()
            .with_sort(SortTarget::Create, SortOrder::Ascend)
            .request(b"/p/".to_vec());
        assert_eq!(r.range_end, b"/p0".to_vec());
        assert!(r.keys_only);
        assert_eq!(r.sort_target(), SortTarget::Create);
        assert_eq!(r.sort_order(), SortOrder::Ascend);
        let t = Txn::new()
            .when([
                Compare::create_revision("k", CompareOp::Equal, 7),
                Compare::value("k", CompareOp::NotEqual, "me"),
            ])
            .and_then([TxnOp::put("j", "v", Some(PutOptions::new().with_lease(9)))])
            .or_else([TxnOp::get("k", None)]);
        let c = &t.req.compare;
        assert_eq!(
            c[0].target_union,
            Some(pb::compare::TargetUnion::CreateRevision(7))
        );
        assert_eq!(c[0].target(), pb::compare::CompareTarget::Create);
        assert_eq!(c[1].result(), pb::compare::CompareResult::NotEqual);
        assert!(matches!(
            &t.req.success[0].request,
            Some(pb::request_op::Request::RequestPut(p)) if p.lease == 9 && p.key == b"j"
        ));
        assert_eq!(t.req.failure.len(), 1);
    }

    #[test]
    fn endpoints_and_tls_must_agree() {
        let tls = ConnectOptions::new().with_tls(TlsOptions::new());
        let e = endpoint("http://127.0.0.1:2379", &tls).unwrap_err();
        assert!(
            e.to_string()
                .contains("TLS settings were given for http://"),
            "{e}"
        );
        let e = endpoint("https://127.0.0.1:2379", &ConnectOptions::new()).unwrap_err();
        assert!(e.to_string().contains("needs TLS settings"), "{e}");
        let e = endpoint("127.0.0.1:2379", &ConnectOptions::new()).unwrap_err();
        assert!(
            e.to_string().contains("write it as http://HOST:PORT"),
            "{e}"
        );
        assert!(endpoint("http://127.0.0.1:2379", &ConnectOptions::new()).is_ok());
    }

    #[test]
    fn an_expired_token_is_recognised() {
        assert!(invalid_token(&tonic::Status::unauthenticated("x")));
        assert!(invalid_token(&tonic::Status::unknown(INVALID_TOKEN)));
        assert!(!invalid_token(&tonic::Status::unknown("other")));
        assert!(!invalid_token(&tonic::Status::permission_denied(
            "etcdserver: permission denied"
        )));
    }
}

/// The checked-in `etcdserverpb.rs` is what `etcd.proto` generates today.
#[cfg(test)]
mod codegen {
    use std::path::Path;

    /// Set to write the regenerated file instead of comparing.
    const REGENERATE: &str = "HANDOVER_REGENERATE_ETCD";

    #[test]
    fn the_checked_in_code_is_what_the_proto_generates() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ha/etcd");
        let fds = protox::compile(["etcd.proto"], [&here])
            .unwrap_or_else(|e| panic!("src/ha/etcd/etcd.proto does not compile: {e:?}"));
        let out = tempfile::tempdir().expect("a temporary folder");
        tonic_prost_build::configure()
            .build_server(false)
            .build_transport(false)
            .emit_rerun_if_changed(false)
            .out_dir(out.path())
            .compile_fds(fds)
            .expect("code generation works");
        let fresh = std::fs::read_to_string(out.path().join("etcdserverpb.rs"))
            .expect("the generator writes etcdserverpb.rs");
        let file = here.join("etcdserverpb.rs");
        if std::env::var_os(REGENERATE).is_some() {
            std::fs::write(&file, &fresh).expect("the checked-in file is writable");
            return;
        }
        let kept = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            kept == fresh,
            "src/ha/etcd/etcdserverpb.rs differs from what src/ha/etcd/etcd.proto generates; \
             regenerate it with `{REGENERATE}=1 cargo test --lib ha::etcd::codegen` and commit both files"
        );
    }
}

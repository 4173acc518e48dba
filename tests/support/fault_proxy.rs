//! A fault-injecting HTTP proxy for tests, in front of a real registry: it forwards every
//! request and, while a fault rule still has uses left, answers or breaks the response instead.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What to do to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` seconds, if set) instead of forwarding.
    Status(u16, Option<u32>),
    /// Forward, then send only the first half of the body and drop the connection.
    CutBody,
    /// Forward, then flip one byte of the body.
    CorruptBody,
    /// Flip one byte of the request body, then forward: an upload damaged on the way.
    CorruptUpload,
    /// Forward after this many milliseconds (to make requests overlap).
    Delay(u64),
    /// Answer 307 sending the client to the same path on this `host:port` (a CDN, say).
    Redirect(String),
    /// Forward, then answer with a `Docker-Content-Digest` of zeros: a registry that says it
    /// stored other bytes than it was sent.
    WrongDigest,
    /// Forward, then send the first half of the body and nothing more, holding the
    /// connection open.
    StallBody,
    /// Take the request and never answer, holding the connection open.
    NoAnswer,
    /// Forward, then send the body one byte every this many milliseconds: never idle for long,
    /// and never done.
    Trickle(u64),
    /// Answer with this status and a body of this many bytes, chunked (no length announced),
    /// made as it is read: [`FaultProxy::flood_sent`] tells how much the client took.
    Flood(u16, u64),
    /// Forward without the `Authorization` header, so the registry itself answers 401 with its
    /// challenge: what a client sees when a token it holds expired or was revoked.
    ExpireToken,
}

/// A fault for requests whose method and path match, `times` times.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `GET`, `HEAD`, `PUT`, … ; `None` matches any.
    pub method: Option<&'static str>,
    /// A fragment of the path and query, e.g. `/blobs/`, `/manifests/` or `mount=`.
    pub path_contains: &'static str,
    /// What to do.
    pub fault: Fault,
    /// How many matching requests get the fault.
    pub times: usize,
}

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// The running proxy; it stops with its runtime.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    /// Every request seen.
    pub log: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<InFlight>,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `METHOD path?query`.
    pub request: String,
    /// Whether a fault was injected.
    pub faulted: bool,
    /// Whether it carried an `Authorization` header.
    pub authorized: bool,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// Requests being answered now, and the most there ever were at once.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
    flooded: std::sync::atomic::AtomicU64,
}

struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn enter(in_flight: &Arc<InFlight>) -> Self {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.most.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(Arc::clone(in_flight))
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`) on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str, rules: Vec<Rule>) -> Self {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let rules = Arc::new(Mutex::new(rules));
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        // The crate builds reqwest without a crypto provider of its own.
        qci_mirror::install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let (upstream, proxy_addr) = (upstream.to_owned(), addr.to_string());
        let (task_rules, task_log, task_in_flight) =
            (Arc::clone(&rules), Arc::clone(&log), Arc::clone(&in_flight));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (client, upstream, proxy_addr) =
                    (client.clone(), upstream.clone(), proxy_addr.clone());
                let (rules, log, in_flight) = (
                    Arc::clone(&task_rules),
                    Arc::clone(&task_log),
                    Arc::clone(&task_in_flight),
                );
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(
                            request,
                            client.clone(),
                            upstream.clone(),
                            proxy_addr.clone(),
                            Arc::clone(&rules),
                            Arc::clone(&log),
                            Arc::clone(&in_flight),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            addr: addr.to_string(),
            rules,
            log,
            in_flight,
        }
    }

    /// How many faults were injected.
    pub fn faults_injected(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.faulted)
            .count()
    }

    /// The most requests that were ever being answered at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.in_flight.most.load(Ordering::SeqCst)
    }

    /// How many bytes of [`Fault::Flood`] bodies the clients read, over all requests.
    pub fn flood_sent(&self) -> u64 {
        self.in_flight.flooded.load(Ordering::SeqCst)
    }

    /// Rules whose uses are not all spent.
    pub fn unused_rules(&self) -> Vec<Rule> {
        self.rules
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.times > 0)
            .cloned()
            .collect()
    }
}

fn take_fault(rules: &Mutex<Vec<Rule>>, method: &str, path: &str) -> Option<Fault> {
    let mut rules = rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.times > 0 && r.method.is_none_or(|m| m == method) && path.contains(r.path_contains)
    })?;
    rule.times -= 1;
    Some(rule.fault.clone())
}

async fn handle(
    request: Request<hyper::body::Incoming>,
    client: reqwest::Client,
    upstream: String,
    proxy_addr: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<InFlight>,
) -> Result<Response<BoxBody>, Infallible> {
    let _in_flight = InFlightGuard::enter(&in_flight);
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let fault = take_fault(&rules, &method, &path_and_query);
    log.lock().unwrap().push(Seen {
        request: format!("{method} {path_and_query}"),
        faulted: fault.is_some(),
        authorized: request.headers().contains_key("authorization"),
        at: std::time::Instant::now(),
    });
    if let Some(Fault::Redirect(to)) = &fault {
        return Ok(Response::builder()
            .status(307)
            .header("location", format!("http://{to}{path_and_query}"))
            .body(full(Bytes::new()))
            .unwrap());
    }
    if let Some(Fault::Flood(status, total)) = fault {
        use futures_util::StreamExt;
        const CHUNK: u64 = 64 * 1024;
        let counter = Arc::clone(&in_flight);
        let chunks = futures_util::stream::iter(0..total.div_ceil(CHUNK)).map(move |i| {
            let size = CHUNK.min(total - i * CHUNK);
            counter.flooded.fetch_add(size, Ordering::SeqCst);
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b' '; size as usize])))
        });
        return Ok(Response::builder()
            .status(status)
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(BodyExt::boxed(StreamBody::new(chunks)))
            .unwrap());
    }
    if let Some(Fault::NoAnswer) = fault {
        std::future::pending::<()>().await;
    }
    if let Some(Fault::Status(status, retry_after)) = fault {
        let mut response = Response::builder().status(status);
        if let Some(seconds) = retry_after {
            response = response.header("retry-after", seconds.to_string());
        }
        return Ok(response.body(full(Bytes::new())).unwrap());
    }

    if let Some(Fault::Delay(millis)) = fault {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
    }
    let mut headers = request.headers().clone();
    if let Some(Fault::ExpireToken) = fault {
        headers.remove("authorization");
    }
    let mut body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if matches!(fault, Some(Fault::CorruptUpload)) && !body.is_empty() {
        let mut bytes = body.to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        body = Bytes::from(bytes);
    }
    let mut forward = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("http://{upstream}{path_and_query}"),
    );
    for (name, value) in &headers {
        if name != "host" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let Ok(answer) = forward.body(body).send().await else {
        return Ok(Response::builder()
            .status(502)
            .body(full(Bytes::new()))
            .unwrap());
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        // Upload locations must come back through the proxy, or faults would be bypassed.
        let mut value = value
            .to_str()
            .map(|v| v.replace(&upstream, &proxy_addr))
            .unwrap_or_default();
        if matches!(fault, Some(Fault::WrongDigest)) && name == "docker-content-digest" {
            value = format!("sha256:{}", "0".repeat(64));
        }
        response = response.header(name.as_str(), value);
    }
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    let body = match fault {
        Some(Fault::CutBody) if bytes.len() > 1 => {
            use futures_util::StreamExt;
            bytes.truncate(bytes.len() / 2);
            // The first half goes out (headers with it), then the connection breaks: the client
            // is mid-stream, as when a source dies during a layer.
            let first = futures_util::stream::iter([Ok(Frame::data(Bytes::from(bytes)))]);
            let reset = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ))
            });
            BodyExt::boxed(StreamBody::new(first.chain(reset)))
        }
        Some(Fault::StallBody) if bytes.len() > 1 => {
            use futures_util::StreamExt;
            bytes.truncate(bytes.len() / 2);
            let first = futures_util::stream::iter([Ok(Frame::data(Bytes::from(bytes)))]);
            let never = futures_util::stream::pending::<Result<Frame<Bytes>, std::io::Error>>();
            BodyExt::boxed(StreamBody::new(first.chain(never)))
        }
        Some(Fault::Trickle(millis)) => {
            use futures_util::StreamExt;
            let bytes = futures_util::stream::iter(bytes).then(move |byte| async move {
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![byte])))
            });
            BodyExt::boxed(StreamBody::new(bytes))
        }
        Some(Fault::CorruptBody) if !bytes.is_empty() => {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            full(Bytes::from(bytes))
        }
        _ => full(Bytes::from(bytes)),
    };
    Ok(response.body(body).unwrap())
}

fn full(bytes: Bytes) -> BoxBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

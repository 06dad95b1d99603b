//! The media service under test ([`testkit::TestService`], in process, or
//! served where the wire matters) and media's own fixtures: a hand-rolled
//! multipart builder and images made in code.

use std::io::Cursor;
use std::ops::Deref;
use std::sync::OnceLock;

use axum::body::Bytes;
use http::StatusCode;
use image::{ImageEncoder as _, RgbImage};
use media::domain::MediaView;
use media::routes::upload::Uploaded;
use testkit::http::TestResponse;
use testkit::{TestService, TestServiceBuilder};

/// One media service with its own data directory and signing key.
pub(crate) struct TestApp(TestService);

impl Deref for TestApp {
    type Target = TestService;

    fn deref(&self) -> &TestService {
        &self.0
    }
}

impl TestApp {
    /// The service in process with default settings.
    pub(crate) async fn spawn() -> TestApp {
        TestApp::spawn_with(media::Settings::default()).await
    }

    /// The service in process with `settings`.
    pub(crate) async fn spawn_with(settings: media::Settings) -> TestApp {
        TestApp::start(TestService::builder(media::NAME), settings).await
    }

    /// The service in process, no other test running meanwhile (for
    /// memory measurements).
    pub(crate) async fn spawn_alone(settings: media::Settings) -> TestApp {
        TestApp::start(TestService::builder(media::NAME).alone(), settings).await
    }

    /// The service on a free port, no other test running meanwhile.
    pub(crate) async fn serve_alone(settings: media::Settings) -> TestApp {
        let builder = TestService::builder(media::NAME).served().alone();
        TestApp::start(builder, settings).await
    }

    async fn start(builder: TestServiceBuilder, settings: media::Settings) -> TestApp {
        let service = builder
            .start(move |shared, auth| {
                let config = media::Config {
                    shared,
                    service: settings.clone(),
                };
                async move { media::build_with(&config, auth).await }
            })
            .await;
        TestApp(service)
    }

    /// `POST /media/upload` with `form`.
    pub(crate) async fn upload(&self, token: Option<&str>, form: Multipart) -> TestResponse {
        let content_type = Multipart::content_type();
        self.post_raw("/media/upload", form.finish(), Some(&content_type), token)
            .await
    }

    /// Upload `bytes` as `photo.jpg`; panics unless 201; the one item.
    pub(crate) async fn upload_photo(&self, token: &str, bytes: &[u8]) -> MediaView {
        let response = self
            .upload(
                Some(token),
                Multipart::new().file("photo.jpg", "image/jpeg", bytes),
            )
            .await;
        response.assert_status(StatusCode::CREATED);
        let mut uploaded: Uploaded = response.json();
        assert_eq!(uploaded.items.len(), 1, "one item per file");
        uploaded.items.remove(0)
    }

    /// `GET /media/{id}/content/{name}`, anonymously.
    pub(crate) async fn content(&self, id: &str, name: &str) -> TestResponse {
        self.get(&format!("/media/{id}/content/{name}"), None).await
    }

    /// An active product `product_id` now shows `media` (as the product
    /// service announces it): they become public.
    pub(crate) async fn show_on_product(&self, product_id: &str, media: &[&str], status: &str) {
        self.show_on_product_at(product_id, media, status, chrono::Utc::now())
            .await;
    }

    /// [`TestApp::show_on_product`] as an event that happened `at`.
    pub(crate) async fn show_on_product_at(
        &self,
        product_id: &str,
        media: &[&str],
        status: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let event = events::v1::ProductUpdated {
            product_id: product_id.to_owned(),
            artisan_id: testkit::users::ARTISAN.to_owned(),
            changed_fields: vec!["media_ids".to_owned()],
            price: None,
            status: status.to_owned(),
            media_ids: media.iter().map(|m| (*m).to_owned()).collect(),
            ..Default::default()
        };
        let body = events::PushRequest::for_event_at(
            &format!("evt-show-{n}"),
            "product",
            product_id,
            &event,
            at,
        );
        self.post_json("/events/push", &body, Some(&self.service_token()))
            .await
            .assert_status(StatusCode::OK);
    }

    /// Upload a photo as the artisan and show it on an active product.
    pub(crate) async fn upload_public_photo(&self, bytes: &[u8]) -> MediaView {
        let item = self.upload_photo(&self.artisan(), bytes).await;
        self.show_on_product(&format!("p-{}", item.id), &[&item.id], "active")
            .await;
        item
    }

    /// The bytes of a variant, read as its owner (the artisan); panics
    /// unless 200.
    pub(crate) async fn variant_bytes(&self, id: &str, name: &str) -> Bytes {
        let response = self
            .get(
                &format!("/media/{id}/content/{name}"),
                Some(&self.artisan()),
            )
            .await;
        response.assert_status(StatusCode::OK);
        response.bytes
    }
}

/// A `multipart/form-data` body, built by hand.
pub(crate) struct Multipart {
    body: Vec<u8>,
}

const BOUNDARY: &str = "craftchain-test-boundary-x7Gq2";

impl Multipart {
    pub(crate) fn new() -> Self {
        Multipart { body: Vec::new() }
    }

    /// A `file` part with a file name and declared type.
    pub(crate) fn file(mut self, filename: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A text part.
    pub(crate) fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
        self
    }

    /// The finished body.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body
            .extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.body
    }

    pub(crate) fn content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A photo-like `width`×`height` RGB image: gradients plus a little noise.
pub(crate) fn pixels(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        image::Rgb([
            ((x * 255 / width.max(1)) as u8).saturating_add(noise),
            ((y * 255 / height.max(1)) as u8).saturating_add(noise),
            (((x + y) * 127 / (width + height).max(1)) as u8).saturating_add(noise),
        ])
    })
}

/// `img` as a baseline JPEG (quality 90), no metadata.
pub(crate) fn encode_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding a JPEG");
    out
}

/// A 1200×900 JPEG (made once).
pub(crate) fn photo() -> &'static [u8] {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    PHOTO.get_or_init(|| encode_jpeg(&pixels(1200, 900, 1)))
}

/// Another 1200×900 JPEG with different bytes.
pub(crate) fn another_photo() -> &'static [u8] {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    PHOTO.get_or_init(|| encode_jpeg(&pixels(1200, 900, 2)))
}

/// A JPEG stored 400×300 — left half red, right half blue — with an EXIF
/// APP1 segment saying Orientation=6 (turn 90° clockwise to display) and
/// carrying a GPS IFD: upright it is 300×400, red on top.
pub(crate) fn rotated_photo_with_gps() -> &'static [u8] {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    PHOTO.get_or_init(|| {
        let img = RgbImage::from_fn(400, 300, |x, _| {
            if x < 200 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        let jpeg = encode_jpeg(&img);
        let app1 = exif_app1();
        let mut out = Vec::with_capacity(jpeg.len() + app1.len());
        out.extend_from_slice(&jpeg[..2]); // SOI
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    })
}

/// APP1 `Exif\0\0` + little-endian TIFF: IFD0 {Orientation=6, GPS IFD
/// pointer}, GPS IFD {GPSVersionID 2.2.0.0, GPSLatitudeRef "N"}.
fn exif_app1() -> Vec<u8> {
    fn entry(tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value);
    }
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const BYTE: u16 = 1;
    const ASCII: u16 = 2;
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD0 at 8
    // IFD0: 2 entries, 8 + 2 + 24 + 4 = 38 → GPS IFD at 38.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0112, SHORT, 1, [6, 0, 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, 38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len(), 38);
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0000, BYTE, 4, [2, 2, 0, 0]);
    entry(&mut tiff, 0x0001, ASCII, 2, [b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    app1.extend_from_slice(&payload);
    app1
}

/// Whether kamadak-exif finds any GPS field in `bytes`.
pub(crate) fn has_gps(bytes: &[u8]) -> bool {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .is_ok_and(|exif| exif.fields().any(|f| f.tag.context() == exif::Context::Gps))
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

//! The reject report: one JSON line per rejected row or endpoint, written to the results bucket
//! at `rejects/campaign=<campaign>/<source>.jsonl` (`records::reject_object_key`).
//!
//! Lines are buffered up to one part (8 MiB) and streamed as a multipart upload beyond that, so a
//! file full of bad rows does not hold its whole report in memory. A report that fits in one
//! part is a single `PutObject`.

use super::{sdk_error, RetryPolicy};
use crate::error::FunctionError;
use crate::records::RejectRecord;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

/// Size of one uploaded part (S3 needs at least 5 MiB for every part but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

const CONTENT_TYPE: &str = "application/x-ndjson";

/// Writes one reject report.
pub struct RejectWriter {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    buf: Vec<u8>,
    upload: Option<(String, Vec<CompletedPart>)>,
    count: u64,
    part_bytes: usize,
    policy: RetryPolicy,
}

impl RejectWriter {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
            key: key.into(),
            buf: Vec::new(),
            upload: None,
            count: 0,
            part_bytes: PART_BYTES,
            policy: RetryPolicy::DEFAULT,
        }
    }

    /// Smaller parts (tests; S3 itself refuses parts under 5 MiB but the last).
    pub fn with_part_bytes(mut self, n: usize) -> Self {
        self.part_bytes = n.max(1);
        self
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Rejects written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub async fn push(&mut self, record: &RejectRecord) -> Result<(), FunctionError> {
        serde_json::to_writer(&mut self.buf, record).expect("a reject record always serialises");
        self.buf.push(b'\n');
        self.count += 1;
        if self.buf.len() >= self.part_bytes {
            self.upload_part().await?;
        }
        Ok(())
    }

    /// Completes the report. With `write_empty`, a report with no line is still written (an
    /// empty object), so a re-uploaded file without rejects replaces the old report instead of
    /// leaving it behind. Returns the key when an object was written.
    pub async fn finish(mut self, write_empty: bool) -> Result<Option<String>, FunctionError> {
        match self.upload.take() {
            None => {
                if self.count == 0 && !write_empty {
                    return Ok(None);
                }
                let body = std::mem::take(&mut self.buf);
                self.put(body).await?;
            }
            Some((upload_id, parts)) => {
                self.upload = Some((upload_id, parts));
                if !self.buf.is_empty() {
                    if let Err(e) = self.upload_part().await {
                        self.abort().await;
                        return Err(e);
                    }
                }
                let (upload_id, parts) = self.upload.take().expect("upload in progress");
                let done = self
                    .s3
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await;
                if let Err(e) = done {
                    let err = sdk_error("CompleteMultipartUpload", &e);
                    self.upload = Some((upload_id, Vec::new()));
                    self.abort().await;
                    return Err(err);
                }
            }
        }
        Ok(Some(self.key))
    }

    /// Drops a multipart upload in progress (best effort: a lifecycle rule should also abort
    /// incomplete uploads).
    pub async fn abort(&mut self) {
        if let Some((upload_id, _)) = self.upload.take() {
            if let Err(e) = self
                .s3
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(error = %sdk_error("AbortMultipartUpload", &e), "reject report upload left incomplete");
            }
        }
    }

    async fn put(&self, body: Vec<u8>) -> Result<(), FunctionError> {
        let body = &body;
        self.policy
            .retry(|| async move {
                self.s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type(CONTENT_TYPE)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("PutObject", &e))
            })
            .await
    }

    async fn upload_part(&mut self) -> Result<(), FunctionError> {
        if self.upload.is_none() {
            let created = self
                .s3
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(CONTENT_TYPE)
                .send()
                .await
                .map_err(|e| sdk_error("CreateMultipartUpload", &e))?;
            let id = created
                .upload_id()
                .ok_or_else(|| FunctionError::retryable("CreateMultipartUpload: no upload id"))?
                .to_string();
            self.upload = Some((id, Vec::new()));
        }
        let body = std::mem::take(&mut self.buf);
        let (upload_id, parts) = self.upload.as_mut().expect("upload created above");
        let number = parts.len() as i32 + 1;
        let (s3, bucket, key, body) = (&self.s3, &self.bucket, &self.key, &body);
        let upload_id = upload_id.as_str();
        let etag = self
            .policy
            .retry(|| async move {
                s3.upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .map(|out| out.e_tag().map(str::to_string))
                    .map_err(|e| sdk_error("UploadPart", &e))
            })
            .await?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(etag)
                .build(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocked;
    use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
    use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::operation::upload_part::UploadPartOutput;
    use aws_smithy_mocks::mock;
    use std::sync::{Arc, Mutex};

    fn reject(line: u64) -> RejectRecord {
        RejectRecord {
            line,
            reason: "invalid phone: phone number is not a valid number for its country".into(),
            customer_key: Some(format!("C-{line}")),
            phone_masked: Some("+44*******123".into()),
            source: "uploads/spring.csv".into(),
        }
    }

    #[tokio::test]
    async fn small_report_is_one_put_of_json_lines() {
        let body = Arc::new(Mutex::new(Vec::new()));
        let seen = body.clone();
        let put = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| {
                r.bucket() == Some("results")
                    && r.key() == Some("rejects/campaign=spring/uploads_spring.csv.jsonl")
                    && r.content_type() == Some(CONTENT_TYPE)
            })
            .then_compute_output(move |r| {
                *seen.lock().unwrap() = r.body().bytes().unwrap().to_vec();
                PutObjectOutput::builder().build()
            });
        let s3 = mocked!(aws_sdk_s3, [&put]);
        let mut w = RejectWriter::new(
            s3,
            "results",
            "rejects/campaign=spring/uploads_spring.csv.jsonl",
        );
        w.push(&reject(3)).await.unwrap();
        w.push(&reject(7)).await.unwrap();
        let key = w.finish(true).await.unwrap();
        assert_eq!(
            key.as_deref(),
            Some("rejects/campaign=spring/uploads_spring.csv.jsonl")
        );
        let text = String::from_utf8(body.lock().unwrap().clone()).unwrap();
        let lines: Vec<RejectRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, vec![reject(3), reject(7)]);
    }

    #[tokio::test]
    async fn empty_report_is_written_only_when_asked() {
        let put = mock!(aws_sdk_s3::Client::put_object)
            .then_output(|| PutObjectOutput::builder().build());
        let s3 = mocked!(aws_sdk_s3, [&put]);
        assert_eq!(
            RejectWriter::new(s3.clone(), "b", "k")
                .finish(false)
                .await
                .unwrap(),
            None
        );
        assert_eq!(put.num_calls(), 0);
        assert_eq!(
            RejectWriter::new(s3, "b", "k")
                .finish(true)
                .await
                .unwrap()
                .as_deref(),
            Some("k")
        );
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn large_report_streams_in_parts() {
        let parts = Arc::new(Mutex::new(Vec::<(i32, usize)>::new()));
        let seen = parts.clone();
        let create = mock!(aws_sdk_s3::Client::create_multipart_upload).then_output(|| {
            CreateMultipartUploadOutput::builder()
                .upload_id("u-1")
                .build()
        });
        let upload = mock!(aws_sdk_s3::Client::upload_part)
            .match_requests(|r| r.upload_id() == Some("u-1"))
            .then_compute_output(move |r| {
                let n = r.part_number().unwrap();
                seen.lock()
                    .unwrap()
                    .push((n, r.body().bytes().unwrap().len()));
                UploadPartOutput::builder()
                    .e_tag(format!("etag-{n}"))
                    .build()
            });
        let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload)
            .match_requests(|r| {
                let parts = r.multipart_upload().map(|m| m.parts()).unwrap_or_default();
                parts.len() == 3
                    && parts.iter().enumerate().all(|(i, p)| {
                        p.part_number() == Some(i as i32 + 1)
                            && p.e_tag() == Some(format!("etag-{}", i + 1).as_str())
                    })
            })
            .then_output(|| CompleteMultipartUploadOutput::builder().build());
        let s3 = mocked!(aws_sdk_s3, [&create, &upload, &complete]);
        let line_len = serde_json::to_vec(&reject(1)).unwrap().len() + 1;
        let mut w = RejectWriter::new(s3, "b", "k").with_part_bytes(line_len * 4);
        for i in 0..10 {
            w.push(&reject(i)).await.unwrap();
        }
        assert_eq!(w.finish(false).await.unwrap().as_deref(), Some("k"));
        assert_eq!(create.num_calls(), 1);
        assert_eq!(complete.num_calls(), 1);
        let parts = parts.lock().unwrap().clone();
        assert_eq!(parts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(parts.iter().map(|p| p.1).sum::<usize>(), line_len * 10);
    }
}

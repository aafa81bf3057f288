package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options says which S3-compatible bucket an S3 store keeps its files
// in and how to reach it. Its fields are config.MediaS3's, in the same
// order, so the configuration converts to it: blob.S3Options(cfg.Media.S3).
type S3Options struct {
	// Endpoint is the service's URL (http://minio:9000,
	// https://ACCOUNT.r2.cloudflarestorage.com); empty means AWS's own
	// endpoint for Region.
	Endpoint string
	// Region signs the requests; empty takes AWS_REGION or the shared
	// config's, else us-east-1 (what MinIO and most others expect).
	Region string
	Bucket string
	// Prefix goes before every key, with a '/' between, so one bucket can
	// hold other things too: "switchboard" and "switchboard/" are alike.
	Prefix string
	// AccessKeyID and SecretAccessKey are static credentials; with both
	// empty the SDK's default chain is used (environment, shared files,
	// web identity as on EKS with IRSA, the ECS task or instance role).
	AccessKeyID     string
	SecretAccessKey string
	// PathStyle puts the bucket in the path (http://host/bucket/key), as
	// MinIO and most self-hosted servers need, rather than in the host.
	PathStyle bool
}

// S3 is a Store in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2),
// for replicas that share no disk. An object appears only when its upload
// completes (one PutObject, or a multipart upload's completion), so
// readers never see part of a file.
type S3 struct {
	client   *s3.Client
	bucket   string
	prefix   string
	partSize int
}

var _ Store = (*S3)(nil)

// s3PartSize is how much of an upload is held in memory at once: a file
// up to this size goes in one PutObject, a larger one (or one of unknown
// size that turns out larger) as a multipart upload of parts this big.
// S3 wants parts of at least 5 MiB and at most 10,000 of them, so files
// up to 80 GB fit, far above the media limits.
const s3PartSize = 8 << 20

// abortTimeout bounds the clean-up of a failed multipart upload, which
// runs even when the caller's context has ended.
const abortTimeout = 30 * time.Second

// NewS3 returns a Store in the bucket o names. It loads credentials but
// sends nothing: a wrong key or a missing bucket shows on first use.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("blob: s3: no bucket")
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return nil, errors.New("blob: s3: an access key id and a secret access key go together")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	// The SDK's default checksums (a CRC sent as an aws-chunked trailer)
	// are refused by several S3-compatible servers; the signed SHA-256 of
	// each request's body already guards the bytes in transit.
	opts = append(opts,
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
	})
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: o.Bucket, prefix: prefix, partSize: s3PartSize}, nil
}

func (s *S3) objectKey(key string) *string { return aws.String(s.prefix + key) }

// Put implements Store. It holds at most one part in memory, whatever
// the size, and reads r to its end before the object exists.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	r = ctxReader{ctx, r}
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(min(size+1, int64(s.partSize))))
	}
	if _, err := io.CopyN(&buf, r, int64(s.partSize)); err != nil && err != io.EOF {
		return 0, fmt.Errorf("blob: put %s: read: %w", key, err)
	}
	if buf.Len() < s.partSize {
		n := int64(buf.Len())
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        aws.String(s.bucket),
			Key:           s.objectKey(key),
			Body:          bytes.NewReader(buf.Bytes()),
			ContentLength: aws.Int64(n),
			ContentType:   aws.String("application/octet-stream"),
		})
		if err != nil {
			return 0, s.wrap("put", key, err)
		}
		return n, nil
	}
	return s.putMultipart(ctx, key, &buf, r)
}

// putMultipart uploads first and then the rest of r in parts. The object
// exists only once the upload is completed; on any failure the upload is
// aborted, so its parts are not left behind (a bucket lifecycle rule that
// aborts incomplete uploads covers a process that dies mid-way).
func (s *S3) putMultipart(ctx context.Context, key string, buf *bytes.Buffer, r io.Reader) (int64, error) {
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(s.bucket),
		Key:         s.objectKey(key),
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return 0, s.wrap("put", key, err)
	}
	n, err := s.uploadParts(ctx, key, up.UploadId, buf, r)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if _, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: s.objectKey(key), UploadId: up.UploadId,
		}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("abort the upload: %w", aerr))
		}
		return 0, s.wrap("put", key, err)
	}
	return n, nil
}

func (s *S3) uploadParts(ctx context.Context, key string, uploadID *string, buf *bytes.Buffer, r io.Reader) (int64, error) {
	var (
		parts []types.CompletedPart
		total int64
	)
	for num := int32(1); buf.Len() > 0; num++ {
		part, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:        aws.String(s.bucket),
			Key:           s.objectKey(key),
			UploadId:      uploadID,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(buf.Bytes()),
			ContentLength: aws.Int64(int64(buf.Len())),
		})
		if err != nil {
			return 0, fmt.Errorf("upload part %d: %w", num, err)
		}
		parts = append(parts, types.CompletedPart{ETag: part.ETag, PartNumber: aws.Int32(num)})
		total += int64(buf.Len())
		buf.Reset()
		if _, err := io.CopyN(buf, r, int64(s.partSize)); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read: %w", err)
		}
	}
	if _, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.bucket),
		Key:             s.objectKey(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		return 0, fmt.Errorf("complete the upload: %w", err)
	}
	return total, nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return s.get(ctx, key, nil)
}

// OpenRange implements Store with a ranged GetObject, so a seek into a
// large video fetches what is sent from there, not the whole file.
func (s *S3) OpenRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("blob: open %s: negative offset %d", key, off)
	}
	if n == 0 {
		// No HTTP range is empty: ask only whether the file is there.
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: s.objectKey(key)})
		if err != nil {
			if missing(err) {
				return nil, ErrNotFound
			}
			return nil, s.wrap("open", key, err)
		}
		return http.NoBody, nil
	}
	rng := "bytes=" + strconv.FormatInt(off, 10) + "-"
	if n > 0 && n <= math.MaxInt64-off {
		rng += strconv.FormatInt(off+n-1, 10)
	}
	return s.get(ctx, key, aws.String(rng))
}

// get reads the object under key, or the part of it rng (an HTTP Range)
// names. A range starting past the end (S3 answers 416 InvalidRange)
// reads nothing, as Dir's does.
func (s *S3) get(ctx context.Context, key string, rng *string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.objectKey(key), Range: rng})
	if err != nil {
		if missing(err) {
			return nil, ErrNotFound
		}
		var ae smithy.APIError
		if rng != nil && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
			return http.NoBody, nil
		}
		return nil, s.wrap("open", key, err)
	}
	return out.Body, nil
}

// Delete implements Store. S3 answers a delete of a missing object with
// success; servers that answer NoSuchKey are taken the same way.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.objectKey(key)})
	if err != nil && !missing(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// probeKey is the object Check writes and deletes, under the prefix.
const probeKey = ".switchboard-probe"

// Check writes and deletes a small object under the prefix: what the
// store does all day, needing no permission beyond it (a HEAD of the
// bucket would need s3:ListBucket, which a policy scoped to the prefix
// lacks). A serve that starts with a missing bucket or refused
// credentials would only find out on the first customer's file.
func (s *S3) Check(ctx context.Context) error {
	key := aws.String(s.prefix + probeKey)
	if _, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: key,
		Body: bytes.NewReader([]byte("ok")), ContentLength: aws.Int64(2)}); err != nil {
		return s.wrap("write a probe object", probeKey, err)
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: key}); err != nil && !missing(err) {
		return s.wrap("delete a probe object", probeKey, err)
	}
	return nil
}

// missing reports whether err says the object is not there. A missing
// bucket is a misconfiguration, not a missing file, so it is not one.
func missing(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound && (ae == nil || ae.ErrorCode() == "NotFound")
}

// wrap names the operation, the key and the bucket, and says in words what
// a refusal of the credentials means; the SDK's error (which holds no
// secret) follows.
func (s *S3) wrap(op, key string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken":
			return fmt.Errorf("blob: %s %s: bucket %s refused the credentials (check the access key, the secret or the role's permissions): %w", op, key, s.bucket, err)
		case "NoSuchBucket":
			return fmt.Errorf("blob: %s %s: bucket %s does not exist: %w", op, key, s.bucket, err)
		}
	}
	return fmt.Errorf("blob: %s %s in bucket %s: %w", op, key, s.bucket, err)
}

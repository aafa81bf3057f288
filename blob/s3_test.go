package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"switchboard/blob"
	"switchboard/blob/blobtest"
	"switchboard/config"
)

// envS3 names an S3-compatible server for these tests, as
// http://ACCESS_KEY:SECRET@127.0.0.1:PORT/BUCKET (the bucket is created
// when missing; each test writes under a prefix of its own). Unset, the
// tests skip; "require" without a URL makes them fail instead, and a URL
// that is set must answer. CI starts Versity Gateway and sets it.
const envS3 = "SWITCHBOARD_TEST_S3"

// The wiring turns the configuration into the store's options by a
// conversion, which stops compiling if the two structs drift apart.
var _ = blob.S3Options(config.MediaS3{})

// s3Options reads envS3, skipping the test when it is unset, and makes
// sure its bucket exists. The prefix is new for every call.
func s3Options(t *testing.T) blob.S3Options {
	t.Helper()
	raw := os.Getenv(envS3)
	switch raw {
	case "":
		t.Skipf("%s is not set: no S3-compatible server to test against", envS3)
	case "require":
		t.Fatalf("%s=require but names no server (want http://KEY:SECRET@HOST:PORT/BUCKET)", envS3)
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		t.Fatalf("%s: want http://KEY:SECRET@HOST:PORT/BUCKET", envS3)
	}
	secret, _ := u.User.Password()
	o := blob.S3Options{
		Endpoint:        u.Scheme + "://" + u.Host,
		Region:          "us-east-1",
		Bucket:          strings.Trim(u.Path, "/"),
		Prefix:          "test-" + randomHex(t),
		AccessKeyID:     u.User.Username(),
		SecretAccessKey: secret,
		PathStyle:       true,
	}
	_, err = rawClient(o).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		t.Fatalf("create bucket %s at %s: %v", o.Bucket, o.Endpoint, err)
	}
	return o
}

// rawClient reaches the same server without the store, to look at what
// the store left in the bucket.
func rawClient(o blob.S3Options) *s3.Client {
	return s3.New(s3.Options{
		Region:       o.Region,
		BaseEndpoint: aws.String(o.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, ""),
	})
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newS3(t *testing.T, o blob.S3Options) *blob.S3 {
	t.Helper()
	s, err := blob.NewS3(context.Background(), o)
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s
}

func TestS3(t *testing.T) {
	o := s3Options(t)
	blobtest.Run(t, newS3(t, o))
}

// A reader that fails after several parts have gone up leaves neither an
// object nor an unfinished multipart upload.
func TestS3FailedLargePut(t *testing.T) {
	o := s3Options(t)
	s := newS3(t, o)
	ctx := context.Background()
	r := io.MultiReader(io.LimitReader(mrand.NewChaCha8([32]byte{1}), 19<<20), failing{})
	if _, err := s.Put(ctx, "media/c1/big", r, -1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Put from a reader failing after 19 MB = %v, want its error", err)
	}
	if _, err := s.Open(ctx, "media/c1/big"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after a failed Put, Open = %v, want blob.ErrNotFound", err)
	}
	ups, err := rawClient(o).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(o.Bucket), Prefix: aws.String(o.Prefix + "/"),
	})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left behind, first %s", len(ups.Uploads), aws.ToString(ups.Uploads[0].Key))
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("boom") }

// hidden hides everything of a reader but Read, as a request body does.
type hidden struct{ r io.Reader }

func (h hidden) Read(p []byte) (int, error) { return h.r.Read(p) }

// A 20 MB file of unknown size (more than one part) comes back byte for
// byte, and so does one whose size is given.
func TestS3Large(t *testing.T) {
	s := newS3(t, s3Options(t))
	ctx := context.Background()
	const size = 20 << 20
	want := sha256.New()
	_, _ = io.Copy(want, io.LimitReader(mrand.NewChaCha8([32]byte{2}), size))
	for _, hint := range []int64{-1, size} {
		n, err := s.Put(ctx, "media/c1/video", hidden{io.LimitReader(mrand.NewChaCha8([32]byte{2}), size)}, hint)
		if err != nil {
			t.Fatalf("Put(size %d): %v", hint, err)
		}
		if n != size {
			t.Fatalf("Put(size %d) stored %d bytes, want %d", hint, n, size)
		}
		rc, err := s.Open(ctx, "media/c1/video")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		got := sha256.New()
		m, err := io.Copy(got, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if m != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Fatalf("Put(size %d): read back %d bytes that differ from the %d stored", hint, m, size)
		}
	}
}

// Two prefixes in one bucket do not see each other's files, and a prefix
// is a folder in the bucket whether or not it ends in '/'.
func TestS3Prefix(t *testing.T) {
	a := s3Options(t)
	b := a
	b.Prefix = a.Prefix + "-other/"
	sa, sb := newS3(t, a), newS3(t, b)
	ctx := context.Background()
	if _, err := sa.Put(ctx, "media/m1", strings.NewReader("for a"), 5); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := sb.Open(ctx, "media/m1"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("the other prefix's Open = %v, want blob.ErrNotFound", err)
	}
	if err := sb.Delete(ctx, "media/m1"); err != nil {
		t.Fatalf("the other prefix's Delete: %v", err)
	}
	out, err := rawClient(a).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(a.Prefix + "/media/m1")})
	if err != nil {
		t.Fatalf("the object is not at %s/media/m1 in the bucket: %v", a.Prefix, err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "for a" {
		t.Fatalf("the object holds %q, want %q", body, "for a")
	}
}

// Wrong credentials and a missing bucket are errors that say so, never a
// missing file (which the caller would take as "gone" and move on).
func TestS3Refused(t *testing.T) {
	good := s3Options(t)
	ctx := context.Background()
	if _, err := newS3(t, good).Put(ctx, "media/m1", strings.NewReader("x"), 1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := newS3(t, good).Check(ctx); err != nil {
		t.Fatalf("Check of a bucket that works: %v", err)
	}
	wrong := good
	wrong.SecretAccessKey = "not-the-secret-" + randomHex(t)
	nobucket := good
	nobucket.Bucket = "absent-" + randomHex(t)
	for _, c := range []struct {
		name string
		o    blob.S3Options
		want string
	}{
		{"wrong secret", wrong, "refused the credentials"},
		{"missing bucket", nobucket, "does not exist"},
	} {
		s := newS3(t, c.o)
		if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check = %v, want an error saying %q", c.name, err, c.want)
		}
		_, openErr := s.Open(ctx, "media/m1")
		if errors.Is(openErr, blob.ErrNotFound) {
			t.Errorf("%s: Open = blob.ErrNotFound, want an error saying %q", c.name, c.want)
		}
		_, putErr := s.Put(ctx, "media/m2", strings.NewReader("x"), 1)
		delErr := s.Delete(ctx, "media/m1")
		for op, err := range map[string]error{"Open": openErr, "Put": putErr, "Delete": delErr} {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %s = %v, want an error saying %q", c.name, op, err, c.want)
			} else if strings.Contains(err.Error(), c.o.SecretAccessKey) {
				t.Errorf("%s: %s's error shows the secret: %v", c.name, op, err)
			}
		}
		t.Logf("%s: Open says: %v", c.name, openErr)
	}
}

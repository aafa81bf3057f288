package config_test

import (
	"strings"
	"testing"

	"switchboard/config"
)

// Without a media section files go to the "media" directory, with
// WhatsApp's limits per kind.
func TestMediaDefaults(t *testing.T) {
	cfg, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Media
	if m.Dir != "media" || m.S3.Configured() {
		t.Fatalf("media = %+v, want the directory \"media\" and no S3", m)
	}
	if m.MaxBytes.For("image") != 5<<20 || m.MaxBytes.For("audio") != 16<<20 || m.MaxBytes.For("video") != 16<<20 ||
		m.MaxBytes.For("document") != 100<<20 || m.MaxBytes.For("sticker") != 500<<10 || m.MaxBytes.For("something") != 100<<20 {
		t.Fatalf("max_bytes = %+v", m.MaxBytes)
	}
}

// The deployments the docs describe all load: AWS with the default
// credential chain, MinIO with static keys from the environment, R2.
func TestMediaS3Good(t *testing.T) {
	vars := map[string]string{"S3_KEY": "AKIAEXAMPLE", "S3_SECRET": "hunter2hunter2"}
	for _, tc := range []struct {
		name, yaml string
		want       config.MediaS3
	}{
		{"aws", "media:\n  s3: {region: eu-west-1, bucket: sb-media}\n",
			config.MediaS3{Region: "eu-west-1", Bucket: "sb-media"}},
		{"minio", "media:\n  s3:\n    endpoint: http://minio:9000\n    bucket: switchboard\n    prefix: media/\n" +
			"    access_key_id: ${S3_KEY}\n    secret_access_key: ${S3_SECRET}\n    path_style: true\n",
			config.MediaS3{Endpoint: "http://minio:9000", Bucket: "switchboard", Prefix: "media/", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "hunter2hunter2", PathStyle: true}},
		{"r2", "media:\n  s3:\n    endpoint: https://0123abcd.r2.cloudflarestorage.com\n    region: auto\n    bucket: sb\n" +
			"    access_key_id: ${S3_KEY}\n    secret_access_key: ${S3_SECRET}\n",
			config.MediaS3{Endpoint: "https://0123abcd.r2.cloudflarestorage.com", Region: "auto", Bucket: "sb", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "hunter2hunter2"}},
	} {
		cfg, err := config.Parse([]byte(tc.yaml), env(vars))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if cfg.Media.S3 != tc.want || !cfg.Media.S3.Configured() {
			t.Errorf("%s: media.s3 = %+v, want %+v", tc.name, cfg.Media.S3, tc.want)
		}
	}
}

// Limits at the bounds load; a zero takes the default.
func TestMediaMaxBytesBounds(t *testing.T) {
	cfg, err := config.Parse([]byte("media:\n  max_bytes: {image: 1024, video: 2147483648, audio: 0}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Media.MaxBytes; l.Image != 1024 || l.Video != 2<<30 || l.Audio != config.DefaultAudioBytes {
		t.Fatalf("max_bytes = %+v", l)
	}
}

// Each mistake names its key, and no error repeats a secret.
func TestMediaMistakesNameTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"media:\n  s3: {endpoint: http://minio:9000}\n", "media.s3.bucket: is required when other media.s3 keys are set"},
		{"media:\n  s3: {access_key_id: AKIAEXAMPLE, secret_access_key: hunter2}\n", "media.s3.bucket: is required"},
		{"media:\n  s3: {secret_access_key: hunter2}\n", "media.s3.bucket: is required"},
		{"media:\n  s3: {path_style: true}\n", "media.s3.bucket: is required"},
		{"media:\n  s3: {region: eu-west-1, bucket: b, access_key_id: AKIAEXAMPLE}\n", "media.s3: access_key_id and secret_access_key go together"},
		{"media:\n  s3: {region: eu-west-1, bucket: b, secret_access_key: hunter2}\n", "media.s3: access_key_id and secret_access_key go together"},
		{"media:\n  s3: {bucket: b}\n", "media.s3.region: is required for AWS S3"},
		{"media:\n  s3: {bucket: b, endpoint: minio:9000}\n", `media.s3.endpoint: want an http(s) URL, got "minio:9000"`},
		{"media:\n  s3: {bucket: b, endpoint: \"ftp://minio:21\"}\n", "media.s3.endpoint: want an http(s) URL"},
		{"media:\n  s3: {bucket: b, endpoint: \"http://\"}\n", "media.s3.endpoint: want an http(s) URL"},
		{"media:\n  s3: {bucket: b, endpoint: \"http://AKIAEXAMPLE:hunter2@minio:9000\"}\n", "media.s3.endpoint: must not hold credentials"},
		{"media:\n  s3: {region: r, bucket: b, prefix: /media}\n", `media.s3.prefix: must not start with '/'`},
		{"media:\n  s3: {region: r, bucket: b, bukcet: c}\n", "media.s3.bukcet: unknown key (line 2)"},
		{"media:\n  max_bytes: {image: 1023}\n", "media.max_bytes.image: must be between 1024 and 2147483648, got 1023"},
		{"media:\n  max_bytes: {document: 2147483649}\n", "media.max_bytes.document: must be between 1024 and 2147483648, got 2147483649"},
		{"media:\n  max_bytes: {sticker: -1}\n", "media.max_bytes.sticker: must be between 1024"},
		{"media:\n  max_bytes: {voice: 1024}\n", "media.max_bytes.voice: unknown key (line 2)"},
		{"media:\n  public_url: cs.example.com\n", "media.public_url: want an absolute http(s) URL"},
		{"media:\n  public_url: \"https://cs.example.com/?x=1\"\n", "media.public_url: want an absolute http(s) URL without query"},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error %q shows the secret", tc.yaml, err)
		}
	}
}

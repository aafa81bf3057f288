package config

import (
	"net/url"
	"strings"
)

// Media says where media files (customers' photos, voice notes,
// documents, and the files operators send) are kept, and how large each
// kind may be.
type Media struct {
	// Dir is the local directory that keeps the files when no S3 bucket
	// is configured (default "media", beside the SQLite file's default).
	// Replicas that share nothing need S3 instead.
	Dir string `yaml:"dir"`
	// S3 is S3-compatible object storage (AWS S3, MinIO, R2); it wins
	// over Dir when Bucket is set.
	S3 MediaS3 `yaml:"s3"`
	// MaxBytes caps one file per kind; a larger one is not kept (inbound)
	// or refused with 413 (outbound).
	MaxBytes MediaLimits `yaml:"max_bytes"`
	// PublicURL is the base URL at which providers reach this server
	// (https://cs.example.com). Providers that fetch outbound files
	// themselves (Twilio's MediaUrl) get short-lived signed links under it.
	PublicURL string `yaml:"public_url"`
}

// MediaS3 is an S3-compatible bucket.
type MediaS3 struct {
	// Endpoint is the service's URL (https://s3.eu-west-1.amazonaws.com,
	// http://minio:9000); empty means AWS's endpoint for Region.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	Bucket   string `yaml:"bucket"`
	// Prefix is prepended to every key ("switchboard/"), so one bucket
	// can hold other things too.
	Prefix string `yaml:"prefix"`
	// AccessKeyID and SecretAccessKey are static credentials; when both
	// are empty the SDK's default chain (environment, IRSA on EKS, the
	// instance role) is used.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// PathStyle addresses the bucket in the path (MinIO and most
	// self-hosted servers) rather than as a subdomain.
	PathStyle bool `yaml:"path_style"`
}

// Configured reports whether files go to S3 rather than to Dir.
func (s MediaS3) Configured() bool { return s.Bucket != "" }

// MediaLimits caps a file's size, in bytes, per kind of attachment.
type MediaLimits struct {
	Image    int64 `yaml:"image"`
	Audio    int64 `yaml:"audio"`
	Video    int64 `yaml:"video"`
	Document int64 `yaml:"document"`
	Sticker  int64 `yaml:"sticker"`
}

// For is the limit for kind (a channels.Type* name); an unknown kind gets
// the document limit.
func (l MediaLimits) For(kind string) int64 {
	switch kind {
	case "image":
		return l.Image
	case "audio":
		return l.Audio
	case "video":
		return l.Video
	case "sticker":
		return l.Sticker
	default:
		return l.Document
	}
}

// Media defaults: WhatsApp's own limits per kind, which are the largest
// any of the providers here accepts.
const (
	DefaultMediaDir      = "media"
	DefaultImageBytes    = 5 << 20
	DefaultAudioBytes    = 16 << 20
	DefaultVideoBytes    = 16 << 20
	DefaultDocumentBytes = 100 << 20
	DefaultStickerBytes  = 500 << 10
)

func (m *Media) applyDefaults() {
	if m.Dir == "" {
		m.Dir = DefaultMediaDir
	}
	l := &m.MaxBytes
	for _, f := range []struct {
		v   *int64
		def int64
	}{{&l.Image, DefaultImageBytes}, {&l.Audio, DefaultAudioBytes}, {&l.Video, DefaultVideoBytes}, {&l.Document, DefaultDocumentBytes}, {&l.Sticker, DefaultStickerBytes}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
}

func (m *Media) validate(bad func(key, format string, args ...any)) {
	for _, f := range []struct {
		key string
		v   int64
	}{{"image", m.MaxBytes.Image}, {"audio", m.MaxBytes.Audio}, {"video", m.MaxBytes.Video}, {"document", m.MaxBytes.Document}, {"sticker", m.MaxBytes.Sticker}} {
		if f.v < 1024 || f.v > 2<<30 {
			bad("media.max_bytes."+f.key, "must be between 1024 and %d, got %d", int64(2<<30), f.v)
		}
	}
	if m.PublicURL != "" {
		u, err := url.Parse(m.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("media.public_url", "want an absolute http(s) URL without query, got %q", m.PublicURL)
		}
	}
	s := m.S3
	if s.Configured() {
		if s.Endpoint != "" {
			if u, err := url.Parse(s.Endpoint); err == nil && u.User != nil {
				// Never echoed: it holds a secret.
				bad("media.s3.endpoint", "must not hold credentials; put them in access_key_id and secret_access_key")
			} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad("media.s3.endpoint", "want an http(s) URL, got %q", s.Endpoint)
			}
		}
		if s.Endpoint == "" && s.Region == "" {
			bad("media.s3.region", "is required for AWS S3 (or set media.s3.endpoint)")
		}
		if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
			bad("media.s3", "access_key_id and secret_access_key go together (or leave both empty for the default credential chain)")
		}
		if strings.HasPrefix(s.Prefix, "/") {
			bad("media.s3.prefix", "must not start with '/', got %q", s.Prefix)
		}
	} else if s != (MediaS3{}) {
		bad("media.s3.bucket", "is required when other media.s3 keys are set")
	}
}

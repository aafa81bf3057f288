package channels_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"testing"

	"switchboard/channels"
)

func TestMultipartUploadIsAFormWithTheFileLast(t *testing.T) {
	file := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, '\r', '\n'}, 1000)
	up, err := channels.NewMultipartUpload(
		[]channels.Field{{"messaging_product", "whatsapp"}, {"type", "image/png"}},
		"file", `re"cibo.png`, "image/png", bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(up.Body)
	if int64(len(body)) != up.Length {
		t.Fatalf("Length = %d, body has %d bytes", up.Length, len(body))
	}
	mt, params, err := mime.ParseMediaType(up.ContentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q: %v", up.ContentType, err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var names []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", len(names), err)
		}
		b, _ := io.ReadAll(p)
		names = append(names, p.FormName())
		switch p.FormName() {
		case "messaging_product", "type":
			if want := map[string]string{"messaging_product": "whatsapp", "type": "image/png"}[p.FormName()]; string(b) != want {
				t.Errorf("%s = %q", p.FormName(), b)
			}
		case "file":
			if !bytes.Equal(b, file) || p.FileName() != `re"cibo.png` || p.Header.Get("Content-Type") != "image/png" {
				t.Errorf("file part: %d bytes, name %q, type %q", len(b), p.FileName(), p.Header.Get("Content-Type"))
			}
		}
	}
	if len(names) != 3 || names[2] != "file" {
		t.Fatalf("parts = %v, want two fields then the file", names)
	}
}

func TestMultipartUploadOfUnknownSizeHasNoLength(t *testing.T) {
	up, err := channels.NewMultipartUpload(nil, "document", "a.pdf", "", bytes.NewReader([]byte("%PDF-1.4")), -1)
	if err != nil || up.Length != -1 {
		t.Fatalf("Length = %v, %v; want -1", up.Length, err)
	}
}

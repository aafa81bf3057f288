package twilio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Twilio's error messages repeat the recipient's number; the error that
// reaches the worker's log must not.
func TestSendErrorsMaskThePhoneNumber(t *testing.T) {
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, form url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":21211,"message":"The 'To' number %s is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, form.Get("To"))
	})
	_, err := newChannel(t, base).SendText(context.Background(), "5511987654321", "hola")
	if err == nil {
		t.Fatal("send succeeded")
	}
	if strings.Contains(err.Error(), "5511987654321") || strings.Contains(err.Error(), "987654321") {
		t.Fatalf("the error names the customer's number: %v", err)
	}
	if !strings.Contains(err.Error(), "is not a valid phone number") {
		t.Fatalf("the error lost Twilio's reason: %v", err)
	}
}

package conversations

import (
	"crypto/sha256"
	"encoding/hex"
)

// ContactID derives a contact's id from its channel and its id there. It
// is deterministic, so the inbound path needs no lookup, and it keeps the
// phone number out of ids, URLs and logs.
func ContactID(channel, externalID string) string {
	h := sha256.New()
	h.Write([]byte("switchboard/contact/v1\x00"))
	h.Write([]byte(channel))
	h.Write([]byte{0})
	h.Write([]byte(externalID))
	return hex.EncodeToString(h.Sum(nil)[:10])
}

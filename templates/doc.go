// Package templates will hold how message templates are validated and
// rendered: auto-reply texts (with the routing engine) and provider-approved
// HSM templates (with the operator API). The gateway core sends only free
// text, so it is empty for now.
package templates

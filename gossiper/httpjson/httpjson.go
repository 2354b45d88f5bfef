// Package httpjson is the GUI API's way of reading request bodies and
// writing answers, shared by the web server and the protocols' own routes
// so every route takes the same bodies and fails the same way.
package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MaxBody bounds every request body; a chat text must fit one UDP datagram
// anyway.
const MaxBody = 96 << 10

// Decode reads a JSON body into dst, or a form body with the one field
// named field (text=hi), as interface.md allows both. Numbers are kept as
// json.Number, so a form's "7" and JSON's 7 reach dst alike.
func Decode(w http.ResponseWriter, r *http.Request, dst any, field string) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		if err := r.ParseForm(); err != nil {
			return fmt.Errorf("bad form body: %w", err)
		}
		if !r.PostForm.Has(field) {
			for k := range r.PostForm {
				if strings.HasPrefix(k, "{") {
					return fmt.Errorf("missing field %q: the body looks like JSON; send it with Content-Type: application/json", field)
				}
			}
			return fmt.Errorf("missing field %q", field)
		}
		b, err := json.Marshal(map[string]string{field: r.PostForm.Get(field)})
		if err != nil {
			return fmt.Errorf("bad form body: %w", err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return fmt.Errorf("bad form field %q: %w", field, err)
		}
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	if dec.More() {
		return errors.New("bad JSON body: more than one value")
	}
	return nil
}

// Write answers v as JSON with status; answers are never cached, as they
// show the node's state of the moment.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error answers {"error": err} with status.
func Error(w http.ResponseWriter, status int, err error) {
	Write(w, status, map[string]string{"error": err.Error()})
}

// NonNil makes an empty list answer [] rather than null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package whisper

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// SendFile implements gossiper.FileSender: the seed's file transfer, a
// message with FileType (MIME) and FileContents (base64). The Body says what
// was sent, since pdxgo shows only the Body and crashes without one.
func (w *Whisper) SendFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("whisper: send file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("whisper: send file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("whisper: send file %s: not a regular file", path)
	}
	if st.Size() > int64(w.cfg.MaxFile) {
		return fmt.Errorf("whisper: send file %s: %d bytes, at most %d", path, st.Size(), w.cfg.MaxFile)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return fmt.Errorf("whisper: send file %s: %w", path, err)
	}
	name := filepath.Base(path)
	mimeType := mime.TypeByExtension(filepath.Ext(name))
	if mimeType == "" {
		mimeType = http.DetectContentType(data)
	}
	w.mu.Lock()
	nick := w.nick
	w.mu.Unlock()
	return w.originate(&messages.WhisperMessage{
		Nick:         nick,
		Body:         fmt.Sprintf("sent a file: %s (%s, %d bytes)", name, mimeType, len(data)),
		FileType:     mimeType,
		FileContents: base64.StdEncoding.EncodeToString(data),
		FileName:     name,
	})
}

// receiveFile saves a received file and returns the chat text for it.
func (w *Whisper) receiveFile(m *messages.WhisperMessage, log logrus.FieldLogger) string {
	data, err := base64.StdEncoding.DecodeString(m.FileContents)
	if err != nil {
		data, err = base64.RawStdEncoding.DecodeString(m.FileContents)
	}
	var note string
	switch {
	case err != nil:
		w.rl.Info(log.WithError(err), "file not saved: bad base64")
		note = "[file not saved: bad base64]"
	case len(data) > w.cfg.MaxFile:
		w.rl.Info(log.WithField("bytes", len(data)), "file not saved: too large")
		note = fmt.Sprintf("[file of %d bytes not saved: over %d]", len(data), w.cfg.MaxFile)
	case w.cfg.DownloadDir == "":
		note = fmt.Sprintf("[file %s, %d bytes, not saved: no -dataDir]", m.FileType, len(data))
	default:
		path, err := w.saveFile(m, data)
		if err != nil {
			w.rl.Warn(log.WithError(err), "file not saved")
			note = "[file not saved: " + err.Error() + "]"
		} else {
			log.WithField("path", path).WithField("bytes", len(data)).Info("file saved")
			note = fmt.Sprintf("[file %s, %d bytes, saved as %s]", m.FileType, len(data), path)
		}
	}
	if m.Body == "" {
		return note
	}
	return m.Body + " " + note
}

// saveFile writes data under DownloadDir with a name that cannot leave it,
// hide, or overwrite anything: the sender's name cleaned, after a prefix
// from the message ID.
func (w *Whisper) saveFile(m *messages.WhisperMessage, data []byte) (string, error) {
	if err := os.MkdirAll(w.cfg.DownloadDir, 0o755); err != nil {
		return "", err
	}
	name := safeFileName(m.FileName)
	if name == "" {
		name = "file"
		if exts, _ := mime.ExtensionsByType(m.FileType); len(exts) > 0 {
			name += exts[0]
		}
	}
	prefix := safeFileName(strings.TrimPrefix(m.ID, messages.HashIDPrefix))
	if len(prefix) > 12 {
		prefix = prefix[:12]
	}
	base := prefix + "-" + name
	for i := 0; ; i++ {
		candidate := base
		if i > 0 {
			candidate = fmt.Sprintf("%s-%d-%s", prefix, i, name)
		}
		path := filepath.Join(w.cfg.DownloadDir, candidate)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return "", err
		}
		return path, f.Close()
	}
}

// safeFileName keeps letters, digits, '.', '-' and '_' of the last path
// element, with no leading dot, at most 100 bytes.
func safeFileName(s string) string {
	s = s[strings.LastIndexAny(s, `/\`)+1:]
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_'):
			b.WriteRune(r)
		case unicode.IsSpace(r):
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	return strings.TrimLeft(b.String(), ".")
}

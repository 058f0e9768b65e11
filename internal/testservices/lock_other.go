//go:build !unix

package testservices

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockFileExclusive creates path exclusively, polling while another process
// holds it, and removes it on unlock. A holder that crashed leaves the file
// behind: a lock older than staleLock is taken over.
func lockFileExclusive(ctx context.Context, path string) (unlock func(), err error) {
	const staleLock = 30 * time.Minute
	for {
		f, err := os.OpenFile(path+".held", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(path + ".held") }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if st, serr := os.Stat(path + ".held"); serr == nil && time.Since(st.ModTime()) > staleLock {
			_ = os.Remove(path + ".held")
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// ListenUnix listens on a Unix socket at path for same-pod clients, with
// permissions perm (0 means 0o660: owner and group). The socket is made in
// a private directory and moved into place, so it is never reachable with
// wider permissions than perm; a stale socket at path is replaced, any
// other file is not. Closing the listener removes the socket.
func ListenUnix(path string, perm fs.FileMode) (net.Listener, error) {
	if perm == 0 {
		perm = 0o660
	}
	if perm&0o007 != 0 {
		return nil, fmt.Errorf("gateway: socket permissions %v let every local user connect", perm)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("gateway: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("gateway: removing the stale socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".tenuo-sock-")
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, perm); err != nil {
		l.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return &unixListener{UnixListener: ul, path: path}, nil
}

type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

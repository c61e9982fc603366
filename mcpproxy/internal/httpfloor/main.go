// Command httpfloor is the floor of any HTTP relay, for benchmarks: a bare
// httputil.ReverseProxy in front of one upstream URL, which parses nothing
// beyond HTTP and checks nothing. Whatever serve costs beyond this is its
// own. It listens on 127.0.0.1 (port 0 picks a free port) and prints
// "listening on http://ADDR" on standard error once it listens.
//
//	httpfloor -listen 127.0.0.1:0 -upstream http://127.0.0.1:8000
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen on `ADDR`")
	upstream := flag.String("upstream", "", "forward to `URL` (scheme and host; the path is the request's)")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintln(os.Stderr, "httpfloor: -upstream must be an absolute URL:", *upstream)
		os.Exit(2)
	}
	u.Path = ""
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpfloor:", err)
		os.Exit(1)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256 // as many as the benchmark's clients
	rp := &httputil.ReverseProxy{
		// ReverseProxy flushes event streams (and bodies of unknown
		// length) as they come on its own.
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: transport,
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	fmt.Fprintln(os.Stderr, "httpfloor:", http.Serve(ln, rp))
	os.Exit(1)
}

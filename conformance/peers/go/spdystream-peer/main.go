// Command spdystream-peer is a Go spdystream peer (the library Docker and
// Kubernetes use) for interop tests of raw bidirectional streams, in either
// role. It speaks SPDY/3.1 directly on TCP, as after an HTTP upgrade.
//
// usage:
//
//	spdystream-peer server
//	    listens on 127.0.0.1, prints "LISTEN <addr>", serves one connection
//	    (streams act by their "action" header, below) and prints "DONE"
//	    when the connection has ended.
//	spdystream-peer client ADDR STREAMS BIGSIZE
//	    connects to ADDR, runs the client scenarios against a server that
//	    serves the same actions, and prints "OK" when all passed.
//
// Actions (header "action"): echo (copy back, then FIN), hash (answer
// "<bytes> <sha256 hex>" of what was sent), source (send "size" bytes of
// the shared pattern), reset (RST_STREAM after the first byte), refuse
// (refuse the stream), ping (ping the other end, answer "pong"), open-back
// (open "count" streams towards the other end, each echoed back, answer
// "ok <count>").
//
// Every failure exits 1 with a message on stderr; the whole run is bounded
// to 60 s.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "spdystream-peer: "+format+"\n", args...)
	os.Exit(1)
}

// pattern is the byte at offset i of the shared test pattern.
func pattern(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte((i * 7) % 251)
	}
	return out
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func main() {
	go func() {
		time.Sleep(60 * time.Second)
		fail("did not finish within 60 s")
	}()
	if len(os.Args) < 2 {
		fail("usage: spdystream-peer server | client ADDR STREAMS BIGSIZE")
	}
	switch os.Args[1] {
	case "server":
		runServer()
	case "client":
		if len(os.Args) != 5 {
			fail("usage: spdystream-peer client ADDR STREAMS BIGSIZE")
		}
		streams, err1 := strconv.Atoi(os.Args[3])
		big, err2 := strconv.Atoi(os.Args[4])
		if err1 != nil || err2 != nil {
			fail("STREAMS and BIGSIZE must be numbers")
		}
		runClient(os.Args[2], streams, big)
	default:
		fail("unknown mode %q", os.Args[1])
	}
}

// ---- server role ----

func runServer() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("LISTEN %s\n", listener.Addr())
	tcp, err := listener.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	listener.Close()
	conn, err := spdystream.NewConnection(tcp, true)
	if err != nil {
		fail("spdystream: %v", err)
	}
	conn.Serve(actionHandler(conn))
	fmt.Println("DONE")
}

// actionHandler replies at once (spdystream drops DATA that arrives on a
// stream before its reply is sent) and acts in the background.
func actionHandler(conn *spdystream.Connection) spdystream.StreamHandler {
	return func(stream *spdystream.Stream) {
		action := stream.Headers().Get("action")
		if action == "refuse" {
			stream.Refuse()
			return
		}
		if stream.Headers().Get("from") != "" && action == "" {
			action = "echo"
		}
		reply := http.Header{}
		reply.Set("seen-action", action)
		if err := stream.SendReply(reply, false); err != nil {
			return
		}
		go act(conn, stream, action)
	}
}

func act(conn *spdystream.Connection, stream *spdystream.Stream, action string) {
	switch action {
	case "hash":
		h := sha256.New()
		n, _ := io.Copy(h, stream)
		fmt.Fprintf(stream, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
		stream.Close()
	case "source":
		size, _ := strconv.Atoi(stream.Headers().Get("size"))
		data := pattern(size)
		for len(data) > 0 {
			n := 32 * 1024
			if n > len(data) {
				n = len(data)
			}
			if _, err := stream.Write(data[:n]); err != nil {
				return
			}
			data = data[n:]
		}
		stream.Close()
	case "reset":
		one := make([]byte, 1)
		stream.Read(one)
		stream.Reset()
	case "ping":
		if _, err := conn.Ping(); err != nil {
			fmt.Fprintf(stream, "ping failed: %v", err)
		} else {
			fmt.Fprint(stream, "pong")
		}
		stream.Close()
	case "open-back":
		count, _ := strconv.Atoi(stream.Headers().Get("count"))
		if err := openBack(conn, count); err != nil {
			fmt.Fprintf(stream, "fail %v", err)
		} else {
			fmt.Fprintf(stream, "ok %d", count)
		}
		stream.Close()
	default: // echo
		io.Copy(stream, stream)
		stream.Close()
	}
}

// openBack opens count streams towards the other end at once; each must
// come back echoed.
func openBack(conn *spdystream.Connection, count int) error {
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := 0; i < count; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			headers := http.Header{}
			headers.Set("from", "go")
			headers.Set("index", strconv.Itoa(i))
			stream, err := conn.CreateStream(headers, nil, false)
			if err != nil {
				errs <- err
				return
			}
			if err := stream.WaitTimeout(10 * time.Second); err != nil {
				errs <- fmt.Errorf("stream %d reply: %v", i, err)
				return
			}
			message := []byte(fmt.Sprintf("hello %d from go", i))
			stream.Write(message)
			stream.Close()
			back, _ := io.ReadAll(stream)
			if !bytes.Equal(back, message) {
				errs <- fmt.Errorf("stream %d echoed %q", i, back)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// ---- client role ----

func open(conn *spdystream.Connection, headers map[string]string) *spdystream.Stream {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	stream, err := conn.CreateStream(h, nil, false)
	if err != nil {
		fail("create stream %v: %v", headers, err)
	}
	if err := stream.WaitTimeout(10 * time.Second); err != nil {
		fail("stream %v: no reply: %v", headers, err)
	}
	return stream
}

// exchange writes data (then FIN) while reading the answer to its end.
func exchange(stream *spdystream.Stream, data []byte) []byte {
	go func() {
		for sent := 0; sent < len(data); {
			n := 64 * 1024
			if n > len(data)-sent {
				n = len(data) - sent
			}
			if _, err := stream.Write(data[sent : sent+n]); err != nil {
				return
			}
			sent += n
		}
		stream.Close()
	}()
	back, err := io.ReadAll(stream)
	if err != nil {
		fail("read: %v", err)
	}
	return back
}

func runClient(addr string, streams int, big int) {
	tcp, err := net.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	conn, err := spdystream.NewConnection(tcp, false)
	if err != nil {
		fail("spdystream: %v", err)
	}
	// Streams the server opens towards us are echoed.
	go conn.Serve(actionHandler(conn))

	// Hundreds of echo streams at once, each with its own payload.
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stream := open(conn, map[string]string{"action": "echo", "index": strconv.Itoa(i)})
			payload := bytes.Repeat([]byte{byte(i)}, 1+(i*389)%20000)
			if back := exchange(stream, payload); !bytes.Equal(back, payload) {
				fail("echo stream %d: %d bytes back, want %d", i, len(back), len(payload))
			}
		}(i)
	}
	wg.Wait()

	// Megabytes up: the server answers with the length and hash.
	upload := pattern(big)
	answer := exchange(open(conn, map[string]string{"action": "hash"}), upload)
	if want := fmt.Sprintf("%d %s", big, hashOf(upload)); string(answer) != want {
		fail("upload: server saw %q, want %q", answer, want)
	}
	// Megabytes down.
	download := exchange(open(conn, map[string]string{"action": "source", "size": strconv.Itoa(big)}), nil)
	if len(download) != big || hashOf(download) != hashOf(upload) {
		fail("download: %d bytes, hash %s", len(download), hashOf(download))
	}
	// A ping from us, and one from the server.
	if _, err := conn.Ping(); err != nil {
		fail("ping: %v", err)
	}
	if answer := exchange(open(conn, map[string]string{"action": "ping"}), nil); string(answer) != "pong" {
		fail("the server's ping: %q", answer)
	}
	// The server opens streams towards us.
	answer = exchange(open(conn, map[string]string{"action": "open-back", "count": "100"}), nil)
	if string(answer) != "ok 100" {
		fail("open-back: %q", answer)
	}
	// A refused stream.
	h := http.Header{}
	h.Set("action", "refuse")
	refused, err := conn.CreateStream(h, nil, false)
	if err != nil {
		fail("create: %v", err)
	}
	if err := refused.WaitTimeout(10 * time.Second); err != spdystream.ErrReset {
		fail("refused stream: %v, want a reset", err)
	}
	// The server resets a stream: spdystream ends the read.
	reset := open(conn, map[string]string{"action": "reset"})
	reset.Write([]byte("x"))
	if back, _ := io.ReadAll(reset); len(back) != 0 {
		fail("reset stream carried %q", back)
	}
	// Shutdown: GOAWAY, then the connection closes once streams are done.
	conn.SetCloseTimeout(10 * time.Second)
	if err := conn.CloseWait(); err != nil {
		fail("close: %v", err)
	}
	fmt.Println("OK")
}

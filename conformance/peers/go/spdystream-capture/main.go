// Command spdystream-capture makes golden captures of one Go spdystream
// session (the library Docker and Kubernetes use): a spdystream server that
// mirrors every stream and a client that opens two streams with
// kubectl-like headers talk through a recording TCP relay on 127.0.0.1,
// which writes each direction's raw bytes to a file.
//
// usage: spdystream-capture OUT_DIR
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

func main() {
	outDir := "."
	if len(os.Args) > 1 {
		outDir = os.Args[1]
	}
	go func() {
		time.Sleep(10 * time.Second)
		fmt.Fprintln(os.Stderr, "capture did not finish within 10 s")
		os.Exit(1)
	}()

	serverListener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go func() {
		conn, err := serverListener.Accept()
		check(err)
		spdyConn, err := spdystream.NewConnection(conn, true)
		check(err)
		spdyConn.Serve(spdystream.MirrorStreamHandler)
	}()

	relayListener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	var toServer, toClient bytes.Buffer
	var relayDone sync.WaitGroup
	relayDone.Add(2)
	go func() {
		client, err := relayListener.Accept()
		check(err)
		server, err := net.Dial("tcp", serverListener.Addr().String())
		check(err)
		go pump(server, client, &toServer, &relayDone)
		go pump(client, server, &toClient, &relayDone)
	}()

	conn, err := net.Dial("tcp", relayListener.Addr().String())
	check(err)
	spdyConn, err := spdystream.NewConnection(conn, false)
	check(err)
	go spdyConn.Serve(spdystream.NoOpStreamHandler)

	for _, streamType := range []string{"stdout", "stdin"} {
		headers := http.Header{}
		headers.Set("streamType", streamType)
		headers.Set("X-Capture", "golden")
		stream, err := spdyConn.CreateStream(headers, nil, false)
		check(err)
		check(stream.Wait())
		message := []byte("hello over " + streamType)
		_, err = stream.Write(message)
		check(err)
		echo := make([]byte, len(message))
		_, err = io.ReadFull(stream, echo)
		check(err)
		if !bytes.Equal(echo, message) {
			fmt.Fprintf(os.Stderr, "echo mismatch: %q\n", echo)
			os.Exit(1)
		}
		fmt.Printf("%s echoed %q\n", streamType, echo)
		check(stream.Close())
	}
	// Let the mirrored FINs arrive, then close and wait for the relay.
	time.Sleep(200 * time.Millisecond)
	check(conn.Close())
	relayDone.Wait()

	check(os.WriteFile(filepath.Join(outDir, "spdystream-client-to-server.bin"), toServer.Bytes(), 0o644))
	check(os.WriteFile(filepath.Join(outDir, "spdystream-server-to-client.bin"), toClient.Bytes(), 0o644))
}

// pump copies src to dst, recording what passes, and closes dst at the end.
func pump(dst, src net.Conn, record *bytes.Buffer, done *sync.WaitGroup) {
	defer done.Done()
	io.Copy(io.MultiWriter(dst, record), src)
	dst.Close()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

module github.com/peerster-chat/Peerster

go 1.24

require (
	github.com/google/uuid v1.6.0
	github.com/sirupsen/logrus v1.9.3
	go.dedis.ch/protobuf v1.0.11
)

require golang.org/x/sys v0.0.0-20220715151400-c0bba94af5f8 // indirect

module github.com/keyfish-os/keyfish

go 1.26

require pgregory.net/rapid v1.3.0 // indirect

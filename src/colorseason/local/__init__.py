"""The local stack behind `colorseason up`: embedded servers, the local broker, the web page."""

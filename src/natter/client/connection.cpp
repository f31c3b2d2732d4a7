#include "natter/client/connection.hpp"

#include <asio/connect.hpp>
#include <asio/write.hpp>

namespace natter::client
{

connection::connection(asio::io_context& io, line_handler on_line, close_handler on_close)
    : resolver_(io), socket_(io), on_line_(std::move(on_line)), on_close_(std::move(on_close))
{
}

void connection::connect(const std::string& host, std::uint16_t port, connect_handler done)
{
  close();
  const unsigned gen = generation_;
  resolver_.async_resolve(
      host, std::to_string(port),
      [this, gen, done = std::move(done)](std::error_code ec,
                                          asio::ip::tcp::resolver::results_type results) mutable
      {
        if (gen != generation_)
          return;
        if (ec)
        {
          done(ec);
          return;
        }
        asio::async_connect(
            socket_, results,
            [this, gen, done = std::move(done)](std::error_code cec, const asio::ip::tcp::endpoint&)
            {
              if (gen != generation_)
                return;
              if (cec)
              {
                done(cec);
                return;
              }
              connected_ = true;
              socket_.set_option(asio::ip::tcp::no_delay(true), cec);
              do_read();
              done({});
            });
      });
}

void connection::send(std::string_view line)
{
  if (!connected_)
    return;
  std::string framed(line);
  framed += "\r\n";
  queued_bytes_ += framed.size();
  write_queue_.push_back(std::move(framed));
  if (write_queue_.size() == 1)
    do_write();
}

void connection::close()
{
  ++generation_;
  connected_ = false;
  resolver_.cancel();
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_queue_.clear();
  queued_bytes_ = 0;
  reader_ = proto::server_line_reader{};
}

void connection::do_read()
{
  const unsigned gen = generation_;
  socket_.async_read_some(asio::buffer(buffer_),
                          [this, gen](std::error_code ec, std::size_t n)
                          {
                            if (gen != generation_)
                              return;
                            if (ec)
                            {
                              fail(ec);
                              return;
                            }
                            reader_.feed(std::string_view(buffer_.data(), n),
                                         [&](std::string_view line, bool)
                                         {
                                           // A handler may close this connection (a fatal reply):
                                           // stop then.
                                           if (gen == generation_)
                                             on_line_(line);
                                         });
                            if (gen == generation_)
                              do_read();
                          });
}

void connection::do_write()
{
  const unsigned gen = generation_;
  asio::async_write(socket_, asio::buffer(write_queue_.front()),
                    [this, gen](std::error_code ec, std::size_t)
                    {
                      if (gen != generation_)
                        return;
                      if (ec)
                      {
                        fail(ec);
                        return;
                      }
                      queued_bytes_ -= write_queue_.front().size();
                      write_queue_.pop_front();
                      if (!write_queue_.empty())
                        do_write();
                      if (on_written_)
                        on_written_();
                    });
}

void connection::fail(std::error_code ec)
{
  close();
  on_close_(ec);
}

} // namespace natter::client
